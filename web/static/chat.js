// The chat without page reloads. The server renders every turn (templates/_turn.html):
// this script posts the question to /turn and inserts the fragment that comes back. The
// fragment is parsed in an inert <template>, and only its <article class="turn"> goes in;
// the question typed here is only ever set as textContent.
//
// A conversation is kept in the browser's storage under an id the address carries
// (`?c=<id>`), so a reload or the link reopens it; the scope ticked in the sidebar is
// kept with it. Answers copy as Markdown with their citation, and the whole
// conversation exports as Markdown or JSON.
"use strict";

(function () {
  const form = document.getElementById("ask");
  const input = document.getElementById("q");
  const conversation = document.getElementById("conversation");
  if (!form || !input || !conversation) return;
  const maxHistory = Number(form.dataset.maxHistory) || 10;
  const scopeBoxes = () => Array.from(document.querySelectorAll('input.scope[form="ask"]'));
  const STORE = "qa:conversation:";

  // ----- the conversation's id and what the browser keeps of it -----
  const address = new URL(window.location.href);
  let id = address.searchParams.get("c");
  if (!id || !/^[\w-]{1,64}$/.test(id)) {
    id = newId();
  }

  function newId() {
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 8);
  }

  function load() {
    try {
      return JSON.parse(window.localStorage.getItem(STORE + id)) || { turns: [], scope: [] };
    } catch (error) {
      return { turns: [], scope: [] };
    }
  }

  function save() {
    const kept = {
      turns: Array.from(conversation.querySelectorAll("article.turn:not(.pending)"), (turn) => ({
        html: turn.outerHTML,
      })),
      scope: scopeBoxes().filter((box) => box.checked).map((box) => box.value),
      updated: new Date().toISOString(),
    };
    try {
      window.localStorage.setItem(STORE + id, JSON.stringify(kept));
    } catch (error) {
      // storage full or disabled: the conversation still works, it is just not kept
    }
    if (kept.turns.length) {
      const url = new URL(window.location.href);
      url.search = "?c=" + encodeURIComponent(id);
      window.history.replaceState(null, "", url);
    }
  }

  // ----- rendering turns -----
  // A copy of one of the turns the page carries in <template id="turn-...">, for `question`.
  function placeholder(templateId, question) {
    const article = document.getElementById(templateId).content.querySelector("article.turn").cloneNode(true);
    article.querySelector(".asked").textContent = question;
    return article;
  }

  // The turn of some server-rendered HTML, or null when it is not one (a proxy's error page).
  function fragment(html) {
    const holder = document.createElement("template");
    holder.innerHTML = html;
    return holder.content.querySelector("article.turn");
  }

  // A turn's answer as Markdown: the sentence quoted with the span in bold, then its source.
  function markdownOf(turn) {
    if (turn.dataset.found !== "true") {
      return "The sources don't say.\n";
    }
    const sentence = turn.querySelector(".answer.found .sentence");
    let quote = "";
    for (const node of sentence.childNodes) {
      quote += node.nodeName === "MARK" ? `**${node.textContent}**` : node.textContent;
    }
    const link = new URL(turn.dataset.link, window.location.href).href;
    const page = turn.dataset.page ? `, p. ${turn.dataset.page}` : "";
    return `> ${quote.replace(/\s+/g, " ").trim()}\n\n— [${turn.dataset.title}](${link})${page}\n`;
  }

  function jsonOf(turn) {
    const found = turn.dataset.found === "true";
    return {
      question: turn.querySelector(".asked").textContent,
      resolved: turn.dataset.resolved || "",
      found: found,
      answer: found ? turn.dataset.answer : null,
      sentence: found ? turn.querySelector(".answer.found .sentence").textContent.trim() : null,
      confidence: found ? Number(turn.dataset.confidence) : null,
      source: found ? { title: turn.dataset.title, doc_id: turn.dataset.doc, page: turn.dataset.page || null,
                        link: new URL(turn.dataset.link, window.location.href).href } : null,
    };
  }

  // Copy buttons and other controls that only work with this script are hidden in the page.
  function enable(turn) {
    const copy = turn.querySelector("button.copy");
    if (copy) {
      copy.hidden = false;
      copy.addEventListener("click", async () => {
        try {
          await navigator.clipboard.writeText(markdownOf(turn));
          copy.textContent = "Copied";
        } catch (error) {
          copy.textContent = "Copy failed";
        }
        window.setTimeout(() => { copy.textContent = "Copy"; }, 1500);
      });
    }
    return turn;
  }

  // ----- the history the server reads follow-ups against -----
  // The earlier turns, oldest first, as the hidden `h` (question) and `a` (answer) inputs hold them.
  function history() {
    const answers = Array.from(form.querySelectorAll('input[name="a"]'), (a) => a.value);
    return Array.from(form.querySelectorAll('input[name="h"]'), (h, n) => [h.value, answers[n] || ""]);
  }

  // Keep a question and its answer for the next follow-ups; like the page without JavaScript,
  // only the last few.
  function remember(question, answer) {
    for (const [name, value] of [["h", question], ["a", answer]]) {
      const hidden = document.createElement("input");
      hidden.type = "hidden";
      hidden.name = name;
      hidden.value = value;
      form.insertBefore(hidden, form.querySelector("label"));
    }
    for (const name of ["h", "a"]) {
      const kept = form.querySelectorAll(`input[name="${name}"]`);
      for (let n = 0; n < kept.length - maxHistory; n++) kept[n].remove();
    }
  }

  function rememberTurn(turn) {
    const span = turn.querySelector(".answer.found .sentence mark");  // the answer, as highlighted
    remember(turn.querySelector(".asked").textContent, span ? span.textContent : "");
  }

  // ----- reopening a kept conversation -----
  const kept = load();
  const rendered = conversation.querySelectorAll("article.turn");
  if (!rendered.length && kept.turns.length) {
    const hint = document.getElementById("hint");
    if (hint) hint.remove();
    form.querySelectorAll('input[name="h"], input[name="a"]').forEach((hidden) => hidden.remove());
    for (const { html } of kept.turns) {
      const turn = fragment(html);
      if (!turn) continue;
      conversation.append(enable(turn));
      if (!turn.querySelector(".error")) rememberTurn(turn);
    }
  } else {
    rendered.forEach(enable);
  }
  if (kept.scope.length && !scopeBoxes().some((box) => box.checked)) {
    for (const box of scopeBoxes()) box.checked = kept.scope.includes(box.value);
  }
  scopeBoxes().forEach((box) => box.addEventListener("change", save));

  // ----- asking -----
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const question = input.value;
    if (!question.trim() || form.classList.contains("busy")) return;  // one question at a time
    const hint = document.getElementById("hint");
    if (hint) hint.remove();
    const pending = placeholder("turn-pending", question.trim());
    conversation.append(pending);
    input.value = "";
    form.classList.add("busy");
    const body = new URLSearchParams();
    body.append("q", question);
    for (const [earlier, answer] of history()) {
      body.append("h", earlier);
      body.append("a", answer);
    }
    for (const box of scopeBoxes()) {
      if (box.checked) body.append("s", box.value);
    }
    let turn = null;
    try {
      const response = await fetch("/turn", { method: "POST", body: body });
      turn = fragment(await response.text());
      if (turn && response.ok) rememberTurn(turn);
    } catch (error) {
      // the network failed: the message below says so
    }
    const shown = enable(turn || placeholder("turn-failed", question.trim()));
    pending.replaceWith(shown);
    form.classList.remove("busy");
    save();
    shown.scrollIntoView({ block: "end" });
    input.focus();
  });

  // ----- new chat and export -----
  document.getElementById("new-chat").addEventListener("click", (event) => {
    event.preventDefault();
    id = newId();
    conversation.querySelectorAll("article.turn").forEach((turn) => turn.remove());
    form.querySelectorAll('input[name="h"], input[name="a"]').forEach((hidden) => hidden.remove());
    for (const box of scopeBoxes()) box.checked = false;
    const url = new URL(window.location.href);
    url.search = "";
    window.history.replaceState(null, "", url);
    input.value = "";
    input.focus();
  });

  function download(name, type, text) {
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([text], { type: type }));
    link.download = name;
    document.body.append(link);
    link.click();
    link.remove();
    URL.revokeObjectURL(link.href);
  }

  const answeredTurns = () => Array.from(conversation.querySelectorAll("article.turn[data-found]"));
  const exportMd = document.getElementById("export-md");
  const exportJson = document.getElementById("export-json");
  exportMd.hidden = exportJson.hidden = false;
  exportMd.addEventListener("click", () => {
    download(`qa-conversation-${id}.md`, "text/markdown",
             "# Conversation with qa\n\n" + answeredTurns().map(
               (turn) => `## ${turn.querySelector(".asked").textContent}\n\n${markdownOf(turn)}`).join("\n"));
  });
  exportJson.addEventListener("click", () => {
    download(`qa-conversation-${id}.json`, "application/json",
             JSON.stringify({ conversation: id, exported: new Date().toISOString(),
                              turns: answeredTurns().map(jsonOf) }, null, 2));
  });

  // ----- keys: / focuses the question, Esc clears it, ↑ recalls the last question -----
  document.addEventListener("keydown", (event) => {
    const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement.tagName);
    if (event.key === "/" && !typing) {
      event.preventDefault();
      input.focus();
    }
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      input.value = "";
    } else if (event.key === "ArrowUp" && !input.value) {
      const asked = conversation.querySelectorAll("article.turn .asked");
      if (asked.length) {
        event.preventDefault();
        input.value = asked[asked.length - 1].textContent;
      }
    }
  });
})();
