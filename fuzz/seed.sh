#!/bin/sh
# Fills corpus/<target>/ with seeds taken from the repository's own examples and tests (the
# corpora themselves are not committed: libFuzzer adds to them while it runs).
set -eu
cd "$(dirname "$0")"
root=..
mkdir -p corpus/workflow corpus/json_channel corpus/email_channel

# The workflow loader: the shipped workflows, the broken example, every golden case.
for f in "$root"/workflows/*.yaml "$root"/examples/workflows-broken/*.yaml \
    "$root"/engine/tests/workflow_diagnostics/*.yaml "$root"/engine/tests/workflow_diagnostics/*/*.yaml; do
    cp "$f" "corpus/workflow/$(echo "$f" | tr / _ | sed 's/^\.\._//')"
done

# The json channel: its first byte picks the configuration (odd: a default channel), the rest
# is the body. Whole example files, and each line of them alone.
n=0
for f in "$root"/examples/traffic/*.jsonl "$root"/examples/broken/*.jsonl "$root"/examples/orders/*.jsonl; do
    { printf 0; cat "$f"; } > "corpus/json_channel/$(basename "$f")"
    while IFS= read -r line; do
        n=$((n + 1))
        { printf 1; printf '%s\n' "$line"; } > "corpus/json_channel/line-$n"
    done < "$f"
done

# The email channel: the example mails and the channel's test fixtures.
for f in "$root"/examples/mail/*.eml "$root"/examples/broken/*.eml "$root"/plugins/email/tests/fixtures/*.eml; do
    cp "$f" "corpus/email_channel/$(basename "$f")"
done
