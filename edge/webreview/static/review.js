// edge review: keyboard, candidates and the box of the field in focus. The page works without it
// (forms and links); this only makes it quicker. No libraries, nothing fetched.
"use strict";

function typing(target) {
  return target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement;
}

function activate(name) {
  document.querySelectorAll(".box.active, .field.active").forEach((el) => el.classList.remove("active"));
  document.querySelectorAll(".candidate-box.shown").forEach((el) => el.classList.remove("shown"));
  if (!name) return;
  document.querySelectorAll(`[data-field="${CSS.escape(name)}"]`).forEach((el) => {
    if (el.classList.contains("box") || el.classList.contains("field")) el.classList.add("active");
    if (el.classList.contains("candidate-box")) el.classList.add("shown");
  });
  const box = document.querySelector(`.box[data-field="${CSS.escape(name)}"]`);
  if (box) box.closest(".page").scrollIntoView({ block: "nearest" });
}

function filePage(form) {
  form.querySelectorAll(".field").forEach((field) => {
    field.addEventListener("focusin", () => activate(field.dataset.field));
  });
  form.querySelectorAll(".candidate").forEach((button) => {
    button.addEventListener("click", () => {
      const input = document.getElementById(`f-${button.dataset.field}`);
      input.value = button.dataset.value;
      button.parentElement.querySelectorAll(".candidate").forEach((b) => b.classList.remove("picked"));
      button.classList.add("picked");
      activate(button.dataset.field);
    });
  });
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "Enter" && !(event.target instanceof HTMLTextAreaElement) &&
        !(event.target instanceof HTMLAnchorElement) &&
        !(event.target instanceof HTMLButtonElement && event.target.type === "submit")) {
      event.preventDefault();
      form.requestSubmit(document.getElementById("save"));
      return;
    }
    if (event.key === "Escape" && typing(event.target)) { event.target.blur(); return; }
    if (typing(event.target)) return;
    const go = (id) => { const link = document.getElementById(id); if (link) window.location.href = link.href; };
    if (event.key === "j") go("next");
    else if (event.key === "k") go("prev");
    else if (event.key === "a") form.requestSubmit(document.getElementById("accept"));
  });
  const first = form.querySelector(".field.flagged");
  if (first) activate(first.dataset.field);
}

function queuePage(table) {
  const rows = Array.from(table.querySelectorAll("tbody tr"));
  let at = -1;
  const select = (i) => {
    if (!rows.length) return;
    at = Math.max(0, Math.min(rows.length - 1, i));
    rows.forEach((row, n) => row.classList.toggle("selected", n === at));
    rows[at].scrollIntoView({ block: "nearest" });
  };
  document.addEventListener("keydown", (event) => {
    if (typing(event.target) || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "j") select(at + 1);
    else if (event.key === "k") select(at - 1);
    else if (event.key === "Enter" && at >= 0) window.location.href = rows[at].dataset.href;
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("review");
  if (form) filePage(form);
  const table = document.getElementById("queue");
  if (table) queuePage(table);
});
