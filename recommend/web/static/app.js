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
