//! `weft train router` as a user runs it, on a help desk export: quoted fields with line
//! breaks, columns in the export's order, text in many languages and scripts.

use std::process::Command;

fn weft(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(args)
        .env_remove("WEFT_DB")
        .output()
        .expect("run weft");
    (
        output.status.success(),
        String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    )
}

#[test]
fn trains_from_an_export_with_multi_line_fields() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("export.csv");
    std::fs::copy(
        weft_test_support::workspace_root().join("engine/tests/train/helpdesk-export.csv"),
        &data,
    )
    .unwrap();
    let out = dir.path().join("model.bin");
    let (ok, stdout, stderr) = weft(&[
        "train",
        "router",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    // 20 records over 45 lines after the header: every fifth record is held out.
    assert!(stdout.contains("trained on 16 examples"), "{stdout}");
    assert!(
        stdout.contains("held-out (4 examples, every fifth line of the data)"),
        "{stdout}"
    );
    // The language profiles are trained from the Latin-script records only, each text whole:
    // a record cut at its line breaks would have left no model at all.
    let model = weft_plugin_router::Model::from_bytes(&std::fs::read(&out).unwrap()).unwrap();
    let languages: Vec<&str> = model.lang.languages().collect();
    assert_eq!(languages, ["de", "es", "fr", "it"]);
    for (text, lang) in [
        ("wo ist mein Paket? Die Sendung ist seit einer Woche unterwegs.", "de"),
        ("Bonjour, où est mon colis ? Il devait arriver lundi.", "fr"),
        ("Quiero un reembolso, por favor. El producto nunca llegó.", "es"),
        ("Buongiorno, dov'è il mio pacco? Non è ancora arrivato.", "it"),
    ] {
        assert_eq!(model.lang.detect(text).map(|g| g.lang).as_deref(), Some(lang), "{text}");
    }
}

#[test]
fn a_broken_export_names_its_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("export.csv");
    std::fs::write(
        &data,
        "text,intent\n\"Hola,\nmi pedido no llegó\",where-is-my-order\n\"שלום\",refnd\n",
    )
    .unwrap();
    let out = dir.path().join("model.bin");
    let (ok, _, stderr) = weft(&[
        "train",
        "router",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(
        stderr.contains(&format!("{}: line 4: unknown intent `refnd`", data.display())),
        "{stderr}"
    );
    assert!(!out.exists());
}
