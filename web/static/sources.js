// The sources page without reloads: files dropped or chosen are uploaded with their progress
// shown, then watched until the index answers from them; deleting asks first. Without this
// script the same forms post and the page reloads. Names are only ever set as textContent.
"use strict";

(function () {
  const form = document.getElementById("upload");
  const input = document.getElementById("files");
  const drop = document.getElementById("drop");
  const list = document.getElementById("uploads");
  if (!form || !input || !drop || !list) return;

  function line(text) {
    const item = document.createElement("li");
    item.textContent = text;
    list.append(item);
    return item;
  }

  // Poll the document until the index has it: then it is answerable.
  async function untilIndexed(saved, item) {
    for (let tries = 0; tries < 600; tries++) {
      const response = await fetch("/api/documents/" + saved.id.split("/").map(encodeURIComponent).join("/"));
      if (response.ok) {
        item.textContent = `${saved.id}: indexed, answerable now. `;
        const link = document.createElement("a");
        link.href = saved.link;
        link.textContent = "Open it";
        item.append(link);
        return;
      }
      await new Promise((resolve) => window.setTimeout(resolve, 1000));
    }
    item.textContent = `${saved.id}: saved, but not indexed yet; see the server's log.`;
  }

  function upload(files) {
    if (!files.length) return;
    const body = new FormData();
    for (const file of files) body.append("files", file);
    const item = line(`Uploading ${files.length} file${files.length === 1 ? "" : "s"}…`);
    const progress = document.createElement("progress");
    progress.max = 1;
    progress.value = 0;
    item.append(" ", progress);
    const request = new XMLHttpRequest();
    request.open("POST", "/api/documents");
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) progress.value = event.loaded / event.total;
    });
    request.addEventListener("load", () => {
      item.remove();
      let result = {};
      try {
        result = JSON.parse(request.responseText);
      } catch (error) {
        line(`The upload failed (HTTP ${request.status}).`);
        return;
      }
      for (const refused of result.refused || []) line(refused.detail);
      for (const saved of result.saved || []) untilIndexed(saved, line(`${saved.id}: saved, indexing…`));
    });
    request.addEventListener("error", () => { item.textContent = "The server could not be reached."; });
    request.send(body);
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    upload(Array.from(input.files));
    input.value = "";
  });
  input.addEventListener("change", () => {
    upload(Array.from(input.files));
    input.value = "";
  });
  for (const name of ["dragenter", "dragover"]) {
    drop.addEventListener(name, (event) => {
      event.preventDefault();
      drop.classList.add("over");
    });
  }
  for (const name of ["dragleave", "drop"]) {
    drop.addEventListener(name, () => drop.classList.remove("over"));
  }
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    upload(Array.from(event.dataTransfer.files));
  });

  for (const link of document.querySelectorAll("a.delete")) {
    link.addEventListener("click", async (event) => {
      event.preventDefault();
      if (!window.confirm(`Delete “${link.dataset.title}”? It leaves the seeds folder and the index.`)) return;
      const path = link.dataset.id.split("/").map(encodeURIComponent).join("/");
      const response = await fetch("/api/documents/" + path, { method: "DELETE" });
      if (response.ok) {
        link.closest("tr").remove();
      } else {
        window.alert(`Could not delete it (HTTP ${response.status}).`);
      }
    });
  }
})();
