// The viewer's only assets, served by fabra itself from /ui/assets/ (no CDN: it works offline and behind a
// firewall). The script is progressive: every page works without it (forms and links); it only adds conveniences.

export const STYLE = `
:root { --fg: #1d2430; --muted: #5b6577; --line: #d8dde6; --bg: #f6f7f9; --card: #fff; --ok: #17803d;
  --bad: #b42318; --warn: #b54708; --accent: #2559c7; --part: #e8f0fe; --mono: ui-monospace, SFMono-Regular, Menlo, monospace; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header.top { display: flex; gap: 1rem; align-items: center; padding: .6rem 1.2rem; background: #10213f; color: #fff; }
header.top a { color: #fff; text-decoration: none; font-weight: 600; }
header.top form { margin-left: auto; }
main { padding: 1rem 1.2rem; max-width: 1400px; }
h1 { font-size: 1.3rem; margin: .2rem 0 1rem; } h2 { font-size: 1.05rem; margin: 0 0 .6rem; }
section.card { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: .8rem 1rem; margin: 0 0 1rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: .85rem; }
code, .mono, pre { font-family: var(--mono); font-size: .85rem; }
pre { white-space: pre-wrap; word-break: break-word; margin: 0; }
a { color: var(--accent); }
.muted { color: var(--muted); }
.ok { color: var(--ok); } .bad { color: var(--bad); } .warn { color: var(--warn); }
.badge { display: inline-block; padding: .1rem .5rem; border-radius: 999px; font-weight: 600; font-size: .85rem; border: 1px solid; }
.badge.ok { background: #e7f6ec; } .badge.bad { background: #fdecea; } .badge.warn { background: #fff4e5; }
.stale { background: #fff4e5; }
form.filters { display: flex; flex-wrap: wrap; gap: .5rem .8rem; align-items: end; }
form.filters label { display: flex; flex-direction: column; font-size: .8rem; color: var(--muted); }
input, select, button { font: inherit; padding: .3rem .5rem; border: 1px solid var(--line); border-radius: 4px; background: #fff; }
button { cursor: pointer; background: #eef2f8; } button.primary { background: var(--accent); color: #fff; border-color: var(--accent); }
.actions { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; }
.actions form { display: inline-flex; gap: .4rem; align-items: center; margin: 0; }
meter { width: 8rem; height: 1rem; vertical-align: middle; }
svg.budget { width: 100%; height: 28px; display: block; margin: .3rem 0; }
.legend span { margin-right: 1rem; } .sw { display: inline-block; width: .8rem; height: .8rem; margin-right: .3rem; vertical-align: -1px; }
.sw.used { background: #2559c7; } .sw.budget_exceeded { background: #d9822b; } .sw.priority_cutoff { background: #b42318; } .sw.free { background: #d8dde6; }
.message { border-left: 3px solid var(--line); padding: .3rem .6rem; margin: .4rem 0; }
.message .role { font-size: .75rem; text-transform: uppercase; color: var(--muted); }
mark.part { background: var(--part); border-bottom: 2px solid var(--accent); color: inherit; }
mark.part::before { content: attr(data-chunk); display: inline-block; font: 600 .7rem var(--mono); color: var(--accent); margin-right: .3rem; }
.grid2 { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }
.add { background: #e7f6ec; } .del { background: #fdecea; } .hunk { color: var(--muted); }
.diffline { display: block; white-space: pre-wrap; word-break: break-word; font-family: var(--mono); font-size: .85rem; }
.pager { margin-top: .8rem; display: flex; gap: 1rem; }
.login { max-width: 26rem; margin: 4rem auto; }
.login input { width: 100%; margin: .4rem 0 .8rem; }
[data-copy] + button { font-size: .75rem; padding: 0 .4rem; margin-left: .3rem; vertical-align: middle; }
.placeholder { border: 1px dashed var(--line); padding: .5rem; color: var(--muted); }
`;

export const SCRIPT = `"use strict";
// Compare: at most two records ticked in the list; the button is enabled with exactly two.
document.querySelectorAll("form[data-compare]").forEach(function (form) {
  var boxes = form.querySelectorAll("input[type=checkbox][name=pick]");
  var button = form.querySelector("button[data-compare-button]");
  function update() {
    var ticked = Array.prototype.filter.call(boxes, function (b) { return b.checked; });
    Array.prototype.forEach.call(boxes, function (b) { b.disabled = !b.checked && ticked.length >= 2; });
    if (button) button.disabled = ticked.length !== 2;
  }
  Array.prototype.forEach.call(boxes, function (b) { b.addEventListener("change", update); });
  update();
});
// A live replay reads today's data and writes a new record: ask first.
document.querySelectorAll("form[data-confirm]").forEach(function (form) {
  form.addEventListener("submit", function (event) {
    if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
  });
});
// Copy buttons beside hashes and ids.
document.querySelectorAll("[data-copy]").forEach(function (el) {
  var button = document.createElement("button");
  button.type = "button";
  button.textContent = "copy";
  button.addEventListener("click", function () {
    if (navigator.clipboard) navigator.clipboard.writeText(el.getAttribute("data-copy"));
  });
  el.after(button);
});
`;
