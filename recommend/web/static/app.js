// Soundalike web page: one player for the whole site. Links and forms of this site swap the page's <main> (and
// header) in place, so the <audio> element in the bar outside <main> keeps playing; a queue, mixes and a radio
// feed it; keys: space play/pause, n next track (on the review queue a accept, r reject, n next item).
"use strict";

const player = {
  queue: [],
  at: -1,
  radio: null,
  audio: () => document.getElementById("audio"),

  track(el) {
    return { id: Number(el.dataset.trackId), title: el.dataset.title || "track", artist: el.dataset.artist || "" };
  },

  show() {
    const now = this.queue[this.at];
    document.getElementById("now-title").textContent = now ? now.title : "Nothing playing";
    document.getElementById("now-artist").textContent = now ? now.artist : "";
    document.getElementById("play-pause").textContent = this.audio().paused ? "Play" : "Pause";
    document.getElementById("queue-count").textContent = String(Math.max(0, this.queue.length - this.at - 1));
    document.getElementById("radio-state").hidden = !this.radio;
    const list = document.getElementById("queue");
    list.replaceChildren(...this.queue.map((t, i) => {
      const item = document.createElement("li");
      item.textContent = t.title + (t.artist ? " · " + t.artist : "");
      item.dataset.trackId = String(t.id);
      if (i === this.at) item.setAttribute("aria-current", "true");
      if (i < this.at) item.className = "played";
      return item;
    }));
    const cover = document.getElementById("cover");
    if (now) {
      cover.onerror = () => { cover.hidden = true; };
      cover.onload = () => { cover.hidden = false; };
      cover.src = "/tracks/" + now.id + "/cover";
    } else cover.hidden = true;
  },

  playAt(i) {
    if (i < 0 || i >= this.queue.length) return;
    this.at = i;
    const audio = this.audio();
    audio.src = "/tracks/" + this.queue[i].id + "/audio";
    audio.play().catch(() => {});
    this.show();
    this.topUp();
  },

  playNow(t) { this.queue.splice(this.at + 1, 0, t); this.playAt(this.at + 1); },
  playNext(t) { this.queue.splice(this.at + 1, 0, t); if (this.at < 0 || this.audio().ended) this.playAt(this.at + 1); else this.show(); },
  enqueue(t) { this.queue.push(t); if (this.at < 0 || this.audio().ended) this.playAt(this.at + 1); else this.show(); },
  playAll(tracks, radio = null) { this.queue = tracks; this.at = -1; this.radio = radio; this.playAt(0); },
  next() { if (this.at + 1 < this.queue.length) this.playAt(this.at + 1); },
  toggle() {
    const audio = this.audio();
    if (this.at < 0) { if (this.queue.length) this.playAt(0); return; }
    if (audio.paused) audio.play().catch(() => {}); else audio.pause();
  },

  async topUp() {
    if (!this.radio || this.queue.length - this.at > 2) return;
    const response = await fetch("/radio/" + encodeURIComponent(this.radio) + "/next?n=3");
    if (!response.ok) return;
    const added = (await response.json()).tracks.map(fromResult);
    this.queue.push(...added);
    this.show();
  },

  async startRadio(seed) {
    const response = await fetch("/radio", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ seeds: [seed], n: 5 }),
    });
    if (!response.ok) { alert("The radio could not start (" + response.status + ")."); return; }
    const body = await response.json();
    this.playAll(body.tracks.map(fromResult), body.session);
  },
};

function fromResult(r) {
  return { id: r.track_id, title: r.title || r.path.split("/").pop(), artist: r.artist || "" };
}

// Navigation that keeps the player: fetch the page and swap its <main> and header.
async function visit(url, init = {}, push = true) {
  let response;
  try {
    response = await fetch(url, { ...init, headers: { Accept: "text/html" } });
  } catch {
    location.assign(url);
    return;
  }
  if (!(response.headers.get("content-type") || "").startsWith("text/html")) { location.assign(response.url); return; }
  const doc = new DOMParser().parseFromString(await response.text(), "text/html");
  const main = doc.getElementById("main");
  if (!main) { location.assign(response.url); return; }
  document.getElementById("main").replaceWith(main);
  document.getElementById("top").replaceWith(doc.getElementById("top"));
  document.title = doc.title;
  if (push && (init.method !== "POST" || response.redirected)) history.pushState({}, "", response.url);
  else history.replaceState({}, "", response.url);
  window.scrollTo(0, 0);
  const refresh = doc.querySelector('meta[http-equiv="refresh"]');
  if (refresh) setTimeout(() => { if (location.href === response.url) visit(response.url, {}, false); }, 1000 * parseFloat(refresh.content));
}

function swappable(url) {
  return url.origin === location.origin && !url.pathname.endsWith(".m3u") && !url.pathname.startsWith("/docs");
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("button");
  if (button) {
    const holder = button.closest(".play");
    if (holder && button.classList.contains("play-now")) return player.playNow(player.track(holder));
    if (holder && button.classList.contains("play-next")) return player.playNext(player.track(holder));
    if (holder && button.classList.contains("enqueue")) return player.enqueue(player.track(holder));
    if (button.id === "play-pause") return player.toggle();
    if (button.id === "next-track") return player.next();
    if (button.id === "clear-queue") { player.queue = player.queue.slice(0, player.at + 1); player.radio = null; return player.show(); }
    if (button.classList.contains("play-all")) {
      const rows = document.querySelectorAll(button.dataset.from + " .play");
      return player.playAll([...rows].map((el) => player.track(el)));
    }
    if (button.classList.contains("play-mix")) {
      return fetch("/mixes/" + button.dataset.mixId).then((r) => r.json()).then((mix) => player.playAll(mix.tracks.map(fromResult)));
    }
    if (button.classList.contains("start-radio")) return player.startRadio(Number(button.dataset.trackId));
  }
  const link = event.target.closest("a[href]");
  if (!link || event.defaultPrevented || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
  if (link.getAttribute("target") || link.hasAttribute("download") || link.hasAttribute("data-reload")) return;
  const url = new URL(link.getAttribute("href"), location.href);
  if (!swappable(url) || (url.hash && url.pathname === location.pathname)) return;
  event.preventDefault();
  visit(url.href);
});

document.addEventListener("submit", (event) => {
  const form = event.target;
  const url = new URL(form.action, location.href);
  if (!swappable(url) || event.defaultPrevented) return;
  event.preventDefault();
  const data = new FormData(form, event.submitter);
  if (form.method.toLowerCase() === "get") {
    url.search = new URLSearchParams(data).toString();
    visit(url.href);
  } else {
    visit(url.href, { method: "POST", body: new URLSearchParams(data) });
  }
});

window.addEventListener("popstate", () => visit(location.href, {}, false));

document.addEventListener("DOMContentLoaded", () => {
  const audio = player.audio();
  audio.addEventListener("ended", () => player.next());
  for (const kind of ["play", "pause"]) audio.addEventListener(kind, () => player.show());
});

document.addEventListener("keydown", (event) => {
  const target = event.target;
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return;
  const key = event.key.toLowerCase();
  const item = document.getElementById("review-item");
  if (item && ["a", "r", "n"].includes(key)) {
    event.preventDefault();
    document.getElementById({ a: "accept", r: "reject", n: "next" }[key]).click();
    return;
  }
  if (key === " " && !(target instanceof HTMLButtonElement || target instanceof HTMLAnchorElement)) {
    event.preventDefault();
    player.toggle();
  } else if (key === "n") {
    event.preventDefault();
    player.next();
  }
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
