// Sportello chat: streamed replies (SSE over fetch), in-place votes, new messages by polling.
// The page works without this file: every form also posts and redirects.
(function () {
  "use strict";
  var form = document.getElementById("composer");
  var list = document.getElementById("messages");
  if (!form || !list) return;
  var input = document.getElementById("question");
  var send = document.getElementById("send");
  var live = document.getElementById("live");
  var csrf = form.getAttribute("data-csrf");
  var lastId = parseInt(list.getAttribute("data-last-id") || "0", 10);
  var pollMs = Math.max(1000, parseFloat(list.getAttribute("data-poll") || "5") * 1000);
  var busy = false;

  // Land where the last form sent us (#handover, #question…), for keyboard and screen readers.
  if (window.location.hash) {
    var landing = document.getElementById(window.location.hash.slice(1));
    if (landing) landing.focus({ preventScroll: false });
  }

  function announce(text) {
    live.textContent = "";
    window.setTimeout(function () { live.textContent = text; }, 50);
  }

  function fromHtml(html) {
    var t = document.createElement("template");
    t.innerHTML = html.trim();
    return t.content;
  }

  function dropEmptyHint() {
    var empty = document.getElementById("empty-thread");
    if (empty) empty.remove();
  }

  function bubble(role, text) {
    var li = document.createElement("li");
    li.className = "msg msg-" + role;
    var head = document.createElement("div");
    head.className = "msg-head";
    var who = document.createElement("span");
    who.className = "msg-who";
    who.textContent = role === "user" ? "Tu" : "Sportello (risposta automatica)";
    head.appendChild(who);
    var body = document.createElement("div");
    body.className = "msg-body pre";
    body.textContent = text;
    li.appendChild(head);
    li.appendChild(body);
    list.appendChild(li);
    dropEmptyHint();
    return li;
  }

  function addHtml(html) {
    var fragment = fromHtml(html);
    Array.prototype.forEach.call(fragment.querySelectorAll("li.msg"), function (li) {
      if (li.id && document.getElementById(li.id)) li.remove();
    });
    list.appendChild(fragment);
    dropEmptyHint();
  }

  function setBusy(value) {
    busy = value;
    send.disabled = value;
    form.setAttribute("aria-busy", value ? "true" : "false");
  }

  function parseEvents(buffer, onEvent) {
    var parts = buffer.split("\n\n");
    var rest = parts.pop();
    parts.forEach(function (block) {
      var name = "message", data = "";
      block.split("\n").forEach(function (line) {
        if (line.indexOf("event:") === 0) name = line.slice(6).trim();
        else if (line.indexOf("data:") === 0) data += line.slice(5).trim();
      });
      if (data) onEvent(name, JSON.parse(data));
    });
    return rest;
  }

  async function ask(text) {
    setBusy(true);
    var question = bubble("user", text);
    var reply = bubble("assistant", "");
    reply.classList.add("streaming");
    reply.setAttribute("aria-busy", "true");
    var body = reply.querySelector(".msg-body");
    var finished = false;
    function onEvent(name, data) {
      if (name === "delta") {
        body.textContent += data.text;
      } else if (name === "done") {
        finished = true;
        var fragment = fromHtml(data.html);
        var stored = fragment.firstElementChild;
        reply.replaceWith(fragment);
        lastId = Math.max(lastId, data.message.id);
        var plain = stored ? stored.querySelector(".msg-body").textContent : "";
        announce("Risposta dello sportello: " + plain.slice(0, 400));
      } else if (name === "handover") {
        finished = true;
        var step = data.handover && data.handover.step;
        if (step === "done" && !data.handover.choices.length) {
          // Relayed to the expert: the stored message replaces the draft bubble.
          question.remove();
          reply.remove();
          poll(true).then(function () {
            if (data.handover.text) {
              var notice = bubble("system", data.handover.text);
              notice.querySelector(".msg-who").textContent = "Avviso";
              announce(data.handover.text);
            }
          });
          return;
        }
        window.location.replace("/?step=" + Date.now() + (step === "describe_case" ? "#question" : "#handover"));
      } else if (name === "error") {
        finished = true;
        reply.classList.remove("streaming");
        reply.removeAttribute("aria-busy");
        body.textContent = data.detail || "Si è verificato un errore.";
        reply.classList.add("msg-system");
        announce(body.textContent);
      }
    }
    try {
      var response = await fetch("/api/chat/messages", {
        method: "POST",
        headers: { "Content-Type": "application/json", "Accept": "text/event-stream", "X-CSRF-Token": csrf },
        body: JSON.stringify({ text: text }),
        credentials: "same-origin"
      });
      if (!response.ok) {
        var problem = {};
        try { problem = await response.json(); } catch (e) { /* not JSON */ }
        if (response.status === 429) {
          // Too fast: the message was not stored; give it back to send again after the wait.
          question.remove();
          if (!input.value) input.value = text;
        }
        onEvent("error", { detail: problem.detail || "Errore " + response.status + "." });
        return;
      }
      var reader = response.body.getReader();
      var decoder = new TextDecoder();
      var buffer = "";
      for (;;) {
        var chunk = await reader.read();
        if (chunk.done) break;
        buffer = parseEvents(buffer + decoder.decode(chunk.value, { stream: true }), onEvent);
      }
      if (!finished) onEvent("error", { detail: "La risposta si è interrotta: riprova." });
    } catch (err) {
      onEvent("error", { detail: "Connessione non riuscita: controlla la rete e riprova." });
    } finally {
      setBusy(false);
    }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text || busy) return;
    input.value = "";
    ask(text);
  });

  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  list.addEventListener("submit", async function (event) {
    var target = event.target;
    if (!target.classList || !target.classList.contains("feedback")) return;
    event.preventDefault();
    var button = event.submitter;
    if (!button) return;
    var id = target.getAttribute("data-message");
    var value = parseInt(button.value, 10);
    var response = await fetch("/api/chat/messages/" + id + "/feedback", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ value: value }),
      credentials: "same-origin"
    });
    if (response.ok) {
      target.querySelectorAll("button.vote").forEach(function (b) {
        b.setAttribute("aria-pressed", b === button ? "true" : "false");
      });
      announce("Grazie per il tuo voto.");
    } else {
      announce("Il voto non è stato registrato.");
    }
  });

  async function poll(force) {
    if (!force && (busy || document.visibilityState !== "visible")) return;
    try {
      var response = await fetch("/api/chat/messages?after=" + lastId, { credentials: "same-origin" });
      if (!response.ok) return;
      var data = await response.json();
      if (data.messages.length) {
        addHtml(data.html);
        lastId = Math.max.apply(null, [lastId].concat(data.messages.map(function (m) { return m.id; })));
        var news = data.messages.filter(function (m) { return m.role === "expert" || m.role === "system"; });
        if (news.length) announce("Nuovo messaggio: " + news[news.length - 1].text.slice(0, 300));
      }
    } catch (err) { /* offline for a moment: try again next time */ }
  }
  window.setInterval(function () { poll(false); }, pollMs);
})();
