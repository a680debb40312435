/* weft live chat widget: served by `weft serve` at /chat/{hook}/widget.js.
 *
 * Paste one tag into the shop's pages:
 *   <script src="https://support.example/chat/HOOK/widget.js" async></script>
 * For a logged-in visitor, add what the shop's server signed (see sdk/docs/channels.md):
 *   data-email="…" data-customer-id="…" data-name="…" data-expires="UNIX-SECONDS" data-signature="HEX"
 * or call weftChat.identify({email, customer_id, name, expires, signature}) later.
 *
 * The conversation's id and token stay in this browser (localStorage); replies arrive live over
 * Server-Sent Events, and a reconnect resumes after the last event received. Plain JavaScript,
 * no build step, no third-party code. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.weftChat) return;
  var url = new URL(script.src);
  var match = url.pathname.match(/^(.*)\/chat\/([^/]+)\/widget\.js$/);
  if (!match) return;
  var base = url.origin + match[1];
  var hook = decodeURIComponent(match[2]);
  var key = "weft-chat:" + base + ":" + hook;
  var state = load();
  var identity = readIdentity(script.dataset);
  var seen = {};
  var source = null;
  var counter = 0;

  function load() {
    try { return JSON.parse(localStorage.getItem(key)) || {}; } catch (e) { return {}; }
  }
  function save() {
    try { localStorage.setItem(key, JSON.stringify(state)); } catch (e) { /* private mode: this page only */ }
  }
  function readIdentity(data) {
    if (!data.signature) return null;
    return {
      email: data.email || null, customer_id: data.customerId || null, name: data.name || null,
      expires: Number(data.expires), signature: data.signature
    };
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var name in attrs) node.setAttribute(name, attrs[name]);
    if (text != null) node.textContent = text;
    return node;
  }
  var css = "#weft-chat{position:fixed;bottom:16px;inset-inline-end:16px;z-index:2147483000;font:14px/1.4 system-ui,sans-serif}" +
    "#weft-chat-panel{display:none;flex-direction:column;width:320px;height:420px;background:#fff;border:1px solid #ccc;border-radius:8px;box-shadow:0 4px 16px rgba(0,0,0,.15)}" +
    "#weft-chat.open #weft-chat-panel{display:flex}#weft-chat.open #weft-chat-open{display:none}" +
    "#weft-chat-log{flex:1;overflow-y:auto;padding:8px}" +
    ".weft-chat-msg{margin:4px 0;padding:6px 10px;border-radius:12px;max-width:80%;white-space:pre-wrap;unicode-bidi:plaintext;width:fit-content}" +
    ".weft-chat-msg[data-direction=in]{margin-inline-start:auto;background:#dbeafe}" +
    ".weft-chat-msg[data-direction=out],.weft-chat-msg[data-direction=auto]{background:#f1f5f9}" +
    ".weft-chat-msg.pending{opacity:.6}.weft-chat-note{color:#b45309;font-size:12px;padding:0 8px}" +
    "#weft-chat form{display:flex;border-top:1px solid #eee}#weft-chat-input{flex:1;border:0;padding:8px;font:inherit;resize:none}" +
    "#weft-chat-open,#weft-chat-send{cursor:pointer;border:0;border-radius:8px;padding:8px 14px;background:#2563eb;color:#fff;font:inherit}";
  var root = el("div", { id: "weft-chat" });
  root.appendChild(el("style", {}, css));
  var open = el("button", { id: "weft-chat-open", type: "button" }, "Chat");
  var panel = el("div", { id: "weft-chat-panel", role: "dialog", "aria-label": "Chat" });
  var log = el("div", { id: "weft-chat-log", "aria-live": "polite" });
  var note = el("div", { "class": "weft-chat-note", role: "status" });
  var form = el("form", {});
  var input = el("textarea", { id: "weft-chat-input", rows: "2", dir: "auto", "aria-label": "Message" });
  var send = el("button", { id: "weft-chat-send", type: "submit" }, "Send");
  form.appendChild(input); form.appendChild(send);
  panel.appendChild(log); panel.appendChild(note); panel.appendChild(form);
  root.appendChild(open); root.appendChild(panel);

  function show(id, direction, body, pending) {
    var node = id && document.getElementById("weft-chat-" + id);
    if (!node) {
      node = el("div", { "class": "weft-chat-msg", dir: "auto", "data-direction": direction }, body);
      if (id) node.id = "weft-chat-" + id;
      log.appendChild(node);
    }
    node.classList.toggle("pending", !!pending);
    log.scrollTop = log.scrollHeight;
  }

  function listen() {
    if (source || !state.conversation) return;
    var query = "?conversation=" + encodeURIComponent(state.conversation) +
      "&token=" + encodeURIComponent(state.token) + (state.last ? "&after=" + encodeURIComponent(state.last) : "");
    source = new EventSource(base + "/chat/" + encodeURIComponent(hook) + "/stream" + query);
    source.addEventListener("message", function (event) {
      var message = JSON.parse(event.data);
      state.last = event.lastEventId; save();
      if (seen[message.id]) return;
      seen[message.id] = true;
      show(message.id, message.direction, message.body, false);
    });
    source.addEventListener("error", function () {
      // The browser reconnects by itself, sending Last-Event-ID; a refused token does not heal.
      if (source.readyState === EventSource.CLOSED) { source = null; setTimeout(listen, 5000); }
    });
  }

  function conversation() {
    if (state.conversation) return Promise.resolve();
    return fetch(base + "/chat/" + encodeURIComponent(hook) + "/conversations", { method: "POST" })
      .then(function (r) { if (!r.ok) throw new Error("chat: cannot open a conversation (" + r.status + ")"); return r.json(); })
      .then(function (answer) {
        state = { conversation: answer.conversation, token: answer.token, last: answer.position };
        save(); listen();
      });
  }

  function post(body) {
    return fetch(base + "/chat/" + encodeURIComponent(hook) + "/messages?conversation=" + encodeURIComponent(state.conversation), {
      method: "POST",
      headers: { "content-type": "application/json", "x-weft-chat-token": state.token },
      body: JSON.stringify(body)
    }).then(function (r) { return r.json().then(function (answer) { return { status: r.status, answer: answer }; }); });
  }

  function submit(text) {
    var local = "m" + Date.now().toString(36) + "-" + (counter++);
    var lang = (document.documentElement.lang || navigator.language || "").split("-")[0] || undefined;
    return conversation().then(function () {
      var id = "chat:" + state.conversation + ":" + local;
      show(id, "in", text, true);
      var body = { id: local, text: text, lang: lang, page: location.href };
      if (identity) body.identity = identity;
      return post(body).then(function (result) {
        if (result.status === 401 && body.identity) {
          // The shop's signature was refused: say why, and still reach an agent anonymously.
          console.warn("weft chat: identity refused:", result.answer.error && result.answer.error.message);
          identity = null; delete body.identity;
          return post(body);
        }
        return result;
      }).then(function (result) {
        if (result.status >= 300) throw new Error((result.answer.error && result.answer.error.message) || ("HTTP " + result.status));
        note.textContent = "";
      });
    }).catch(function (error) { note.textContent = String(error.message || error); });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    submit(text);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); form.requestSubmit(); }
  });
  open.addEventListener("click", function () { root.classList.add("open"); input.focus(); });

  function mount() { document.body.appendChild(root); listen(); }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);

  window.weftChat = {
    identify: function (signed) { identity = signed; },
    send: submit,
    open: function () { root.classList.add("open"); }
  };
})();
