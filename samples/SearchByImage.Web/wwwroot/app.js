// The search page: upload (choose, drop or paste), show the query and its best matches, click a match to search with it.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const form = $("search-form");
  const dropZone = $("drop-zone");
  const fileInput = $("file-input");
  const topSelect = $("top");
  const resultsList = $("results");
  const token = form.querySelector("input[name=__RequestVerificationToken]").value;
  let maxUploadBytes = 20 * 1024 * 1024;
  let current = null; // { kind: "upload", file } or { kind: "id", id }
  let controller = null;
  let queryObjectUrl = null;

  function setBusy(busy, text) {
    $("busy").hidden = !busy;
    if (text) $("busy-text").textContent = text;
    document.body.classList.toggle("is-busy", busy);
    form.setAttribute("aria-busy", busy ? "true" : "false");
  }

  function showError(title, detail) {
    $("error-title").textContent = title;
    $("error-detail").textContent = detail || "";
    $("error").hidden = false;
  }

  function clearError() { $("error").hidden = true; }

  function formatBytes(n) { return n >= 1048576 ? `${Math.round(n / 1048576)} MB` : `${Math.round(n / 1024)} KB`; }

  async function readProblem(response) {
    try {
      const body = await response.json();
      return { title: body.title || `Error ${response.status}`, detail: body.detail || "" };
    } catch {
      return { title: `Error ${response.status}`, detail: response.statusText };
    }
  }

  function showQuery(src, name) {
    if (queryObjectUrl && queryObjectUrl !== src) { URL.revokeObjectURL(queryObjectUrl); queryObjectUrl = null; }
    $("query-image").src = src;
    $("query-name").textContent = name;
    $("query-time").textContent = "";
    $("query").hidden = false;
  }

  function render(data) {
    resultsList.replaceChildren();
    for (const hit of data.results) {
      const li = document.createElement("li");
      li.className = "result";
      const button = document.createElement("button");
      button.type = "button";
      button.title = `Search with ${hit.name}`;
      button.dataset.id = hit.id;
      const img = document.createElement("img");
      img.src = hit.thumbnailUrl;
      img.alt = hit.name;
      img.loading = "lazy";
      img.decoding = "async";
      const caption = document.createElement("span");
      caption.className = "caption";
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = hit.name;
      const meter = document.createElement("span");
      meter.className = "meter";
      const bar = document.createElement("span");
      bar.style.width = `${Math.max(0, Math.min(1, hit.similarity)) * 100}%`;
      meter.append(bar);
      const score = document.createElement("span");
      score.className = "score";
      score.textContent = hit.similarity.toFixed(3);
      caption.append(name, meter, score);
      button.append(img, caption);
      button.addEventListener("click", () => searchById(hit.id, hit.name, hit.thumbnailUrl, true));
      li.append(button);
      resultsList.append(li);
    }
    $("empty").hidden = data.results.length > 0;
    const ms = data.elapsedMilliseconds;
    $("query-time").textContent = `${data.results.length} results in ${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
  }

  async function run(request, busyText) {
    if (controller) controller.abort(); // the server drops the earlier request when its client goes away
    controller = new AbortController();
    const signal = controller.signal;
    clearError();
    setBusy(true, busyText);
    try {
      const response = await request(signal);
      if (!response.ok) {
        const problem = await readProblem(response);
        const retry = response.headers.get("Retry-After");
        showError(problem.title, retry ? `${problem.detail} (try again in ${retry} s)` : problem.detail);
        resultsList.replaceChildren();
        $("empty").hidden = true;
        return;
      }
      render(await response.json());
      loadStatus();
    } catch (e) {
      if (e.name !== "AbortError") showError("The server cannot be reached", e.message);
    } finally {
      if (controller && controller.signal === signal) { setBusy(false); controller = null; }
    }
  }

  function searchFile(file) {
    if (!file) return;
    current = { kind: "upload", file };
    if (file.size > maxUploadBytes) {
      showError("The file is too large", `${file.name} has ${formatBytes(file.size)}; uploads may be at most ${formatBytes(maxUploadBytes)}.`);
      return;
    }
    const url = URL.createObjectURL(file);
    showQuery(url, file.name || "pasted image");
    queryObjectUrl = url;
    if (location.search) history.pushState(null, "", location.pathname);
    const body = new FormData();
    body.append("__RequestVerificationToken", token);
    body.append("image", file, file.name || "pasted.png");
    body.append("top", topSelect.value);
    run((signal) => fetch("/search", { method: "POST", body, headers: { "X-CSRF-TOKEN": token }, signal }), "Looking at your picture\u2026");
  }

  function searchById(id, name, thumbnailUrl, push) {
    current = { kind: "id", id, name, thumbnailUrl };
    if (thumbnailUrl) showQuery(thumbnailUrl, name || id);
    if (push) history.pushState({ id }, "", `?id=${encodeURIComponent(id)}`);
    window.scrollTo({ top: 0, behavior: "smooth" });
    const url = `/api/search?id=${encodeURIComponent(id)}&top=${encodeURIComponent(topSelect.value)}`;
    run(async (signal) => {
      const response = await fetch(url, { signal });
      if (response.ok && !thumbnailUrl) {
        const data = await response.clone().json();
        showQuery(data.query.thumbnailUrl, data.query.name);
      }
      return response;
    }, "Searching\u2026");
  }

  async function loadStatus() {
    try {
      const response = await fetch("/api/index");
      if (!response.ok) return;
      const s = await response.json();
      maxUploadBytes = s.maxUploadBytes;
      $("max-upload").textContent = formatBytes(s.maxUploadBytes);
      $("status-count").textContent = s.count.toLocaleString("en");
      $("status-model").textContent = `${s.model} (${s.dimension} values)`;
      $("status-precision").textContent = [s.extractionPrecision && `model ${s.extractionPrecision}`, s.storePrecision && `stored ${s.storePrecision}`].filter(Boolean).join(", ") || "\u2013";
      $("status-updated").textContent = s.updatedUtc ? new Date(s.updatedUtc).toLocaleString() : "\u2013";
      $("status-queue").textContent = `${s.queuePending} of ${s.queueCapacity} waiting`;
    } catch {
      // The status is informative only.
    }
  }

  fileInput.addEventListener("change", () => searchFile(fileInput.files[0]));
  fileInput.addEventListener("click", () => { fileInput.value = ""; }); // choosing the same file again searches again
  form.addEventListener("submit", (e) => { e.preventDefault(); searchFile(fileInput.files[0]); });
  dropZone.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); fileInput.click(); } });
  for (const type of ["dragenter", "dragover"]) {
    dropZone.addEventListener(type, (e) => { e.preventDefault(); dropZone.classList.add("dragging"); });
  }
  for (const type of ["dragleave", "drop"]) {
    dropZone.addEventListener(type, () => dropZone.classList.remove("dragging"));
  }
  dropZone.addEventListener("drop", (e) => {
    e.preventDefault();
    const file = e.dataTransfer && e.dataTransfer.files[0];
    if (file) searchFile(file); else showError("Nothing to search with", "Drop an image file.");
  });
  document.addEventListener("dragover", (e) => e.preventDefault());
  document.addEventListener("drop", (e) => e.preventDefault());
  document.addEventListener("paste", (e) => {
    const items = e.clipboardData ? Array.from(e.clipboardData.items) : [];
    const item = items.find((i) => i.kind === "file");
    if (item) { e.preventDefault(); searchFile(item.getAsFile()); }
  });
  topSelect.addEventListener("change", () => {
    if (!current) return;
    if (current.kind === "upload") searchFile(current.file); else searchById(current.id, current.name, current.thumbnailUrl, false);
  });
  window.addEventListener("popstate", () => {
    const id = new URLSearchParams(location.search).get("id");
    if (id) searchById(id, null, null, false);
  });

  loadStatus();
  const initial = new URLSearchParams(location.search).get("id");
  if (initial) searchById(initial, null, null, false);
})();
