// The chat without page reloads: POST /api/ask, then build the turn with DOM calls.
// Every piece of text goes in through textContent; no data ever reaches innerHTML.
"use strict";

(function () {
  const form = document.getElementById("ask");
  const input = document.getElementById("q");
  const conversation = document.getElementById("conversation");
  if (!form || !input || !conversation) return;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // `text` with each [start, end) of `marks` wrapped in <mark>, as DOM nodes. The offsets
  // count code points (as the server does), so the text is sliced as an array of them.
  function marked(tag, text, marks) {
    const node = el(tag);
    const points = Array.from(text);
    const piece = (a, b) => points.slice(a, b).join("");
    let at = 0;
    for (const [start, end] of marks.slice().sort((a, b) => a[0] - b[0])) {
      if (start < at || end <= start) continue;
      node.append(document.createTextNode(piece(at, start)), el("mark", "", piece(start, end)));
      at = end;
    }
    node.append(document.createTextNode(piece(at)));
    return node;
  }

  function link(href, text, className) {
    const a = el("a", className, text);
    a.href = href;
    return a;
  }

  function passages(label, list) {
    const details = el("details", "passages");
    details.append(el("summary", "", label + " (" + list.length + ")"));
    const ol = el("ol", "passage-list");
    for (const p of list) {
      const li = el("li", "passage");
      const meta = el("p", "meta");
      meta.append(link(p.link, p.title || p.doc_id), " · score ", el("span", "score", p.score.toFixed(3)));
      li.append(marked("p", p.text, p.marks), meta);
      ol.append(li);
    }
    details.append(ol);
    return details;
  }

  function turn(question) {
    const article = el("article", "turn");
    const asked = el("p", "question");
    asked.append(el("span", "who", "You"), " ", el("span", "asked", question));
    article.append(asked);
    conversation.append(article);
    return article;
  }

  function showAnswer(article, data) {
    if (data.resolved !== data.question) {
      const resolved = el("p", "resolved", "Read as: ");
      resolved.append(el("span", "", data.resolved));
      article.append(resolved);
    }
    const box = el("div", data.found ? "answer found" : "answer none");
    if (data.found) {
      const start = data.start - data.sentence_start;
      const source = el("p", "source", "Source: ");
      source.append(link(data.link, data.title || data.doc_id, "source-link"));
      const sentence = marked("blockquote", data.sentence, [[start, start + Array.from(data.text).length]]);
      sentence.className = "sentence";
      box.append(sentence, source);
      if (data.passages.length) box.append(passages("Supporting passages", data.passages));
    } else {
      box.append(el("p", "no-answer", "The sources don't say. Nothing in the indexed documents answers this question."));
      if (data.passages.length) {
        const related = passages("Related passages", data.passages);
        related.open = true;
        box.append(related);
      }
    }
    article.append(box);
  }

  function showError(article, message) {
    const error = el("p", "error", message);
    error.setAttribute("role", "alert");
    article.append(error);
  }

  // The earlier questions, oldest first: the last ten are all a follow-up can refer to.
  function history() {
    return Array.from(form.querySelectorAll('input[name="h"]'), (h) => h.value).slice(-10);
  }

  function remember(question) {
    const hidden = el("input");
    hidden.type = "hidden";
    hidden.name = "h";
    hidden.value = question;
    form.insertBefore(hidden, form.querySelector("label"));
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const question = input.value;
    if (!question.trim() || form.classList.contains("busy")) return;  // one question at a time
    const hint = document.getElementById("hint");
    if (hint) hint.remove();
    const article = turn(question.trim());
    input.value = "";
    form.classList.add("busy");
    try {
      const response = await fetch("/api/ask", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ question: question, history: history() }),
      });
      const data = await response.json();
      if (response.ok) {
        showAnswer(article, data);
        remember(data.question);
      } else {
        showError(article, typeof data.detail === "string" ? data.detail : "The question could not be read.");
      }
    } catch (error) {
      showError(article, "The server could not be reached. Try again.");
    } finally {
      form.classList.remove("busy");
      article.scrollIntoView({ block: "nearest" });
      input.focus();
    }
  });
})();
