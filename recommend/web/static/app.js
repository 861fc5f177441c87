// Soundalike web page: keyboard shortcuts on the review queue (a accept, r reject, n next).
"use strict";

document.addEventListener("keydown", (event) => {
  const item = document.getElementById("review-item");
  const target = event.target;
  if (!item || event.ctrlKey || event.metaKey || event.altKey) return;
  if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return;
  const action = { a: "accept", r: "reject", n: "next" }[event.key.toLowerCase()];
  if (!action) return;
  event.preventDefault();
  document.getElementById(action).click();
});

// The sonic path's boxes suggest titles from the catalogue search as you type.
document.addEventListener("input", async (event) => {
  const box = event.target;
  if (!(box instanceof HTMLInputElement) || box.getAttribute("list") !== "track-suggestions") return;
  const text = box.value.trim();
  if (text.length < 2) return;
  const response = await fetch("/web/suggest?q=" + encodeURIComponent(text));
  if (!response.ok) return;
  const list = document.getElementById("track-suggestions");
  list.replaceChildren(...(await response.json()).map((label) => Object.assign(document.createElement("option"), { value: label })));
});
