// The chat without page reloads. The server renders every turn (templates/_turn.html):
// this script posts the question to /turn and inserts the fragment that comes back. The
// fragment is parsed in an inert <template>, and only its <article class="turn"> goes in;
// the question typed here is only ever set as textContent.
"use strict";

(function () {
  const form = document.getElementById("ask");
  const input = document.getElementById("q");
  const conversation = document.getElementById("conversation");
  if (!form || !input || !conversation) return;
  const maxHistory = Number(form.dataset.maxHistory) || 10;

  // A copy of one of the turns the page carries in <template id="turn-...">, for `question`.
  function placeholder(id, question) {
    const article = document.getElementById(id).content.querySelector("article.turn").cloneNode(true);
    article.querySelector(".asked").textContent = question;
    return article;
  }

  // The turn of a /turn response, or null when the response is not one (a proxy's error page).
  function fragment(html) {
    const holder = document.createElement("template");
    holder.innerHTML = html;
    return holder.content.querySelector("article.turn");
  }

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
    let turn = null;
    try {
      const response = await fetch("/turn", { method: "POST", body: body });
      turn = fragment(await response.text());
      if (turn && response.ok) {
        const span = turn.querySelector(".answer.found .sentence mark");  // the answer, as highlighted
        remember(turn.querySelector(".asked").textContent, span ? span.textContent : "");
      }
    } catch (error) {
      // the network failed: the message below says so
    }
    const shown = turn || placeholder("turn-failed", question.trim());
    pending.replaceWith(shown);
    form.classList.remove("busy");
    shown.scrollIntoView({ block: "nearest" });
    input.focus();
  });
})();
