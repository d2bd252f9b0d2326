// Multi-file uploader: drag and drop, per-file details, progress, errors and retry.
// With S3 each file goes straight to storage (presigned POST) and the site only
// checks it; without S3 each file is posted to the upload page. Without this
// script the plain one-file form still works.
(function () {
  "use strict";

  // The page's words for the script's own texts (templates/_js_strings.html), English if absent.
  const strings = JSON.parse((document.getElementById("js-strings") || {}).textContent || "{}");
  const t = (text, values) =>
    Object.entries(values || {}).reduce((out, [name, value]) => out.replace("{" + name + "}", value), strings[text] || text);

  const root = document.getElementById("uploader");
  if (!root || !window.XMLHttpRequest) return;
  const singleForm = document.getElementById("single-upload");
  const csrfToken = singleForm.querySelector("[name=csrfmiddlewaretoken]").value;
  const maxBytes = Number(root.dataset.maxBytes);
  const direct = root.dataset.direct === "1";
  const list = root.querySelector(".upload-list");
  const template = document.getElementById("upload-item");
  const input = document.getElementById("uploader-files");
  const startButton = document.getElementById("uploader-start");
  const visibility = document.getElementById("uploader-visibility");
  const album = document.getElementById("uploader-album"); // absent when the person has no album
  const commonTags = document.getElementById("uploader-tags");
  const items = [];

  root.hidden = false;
  singleForm.hidden = true;

  function formatBytes(bytes) {
    const units = ["bytes", "KB", "MB", "GB"];
    let value = bytes, unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    return (unit ? value.toFixed(1) : value) + " " + units[unit];
  }

  // A preview where this browser can draw the file; otherwise (HEIC outside Safari, a file
  // that is not what its name says) a plain tile with its type, never a broken image.
  function showPreview(item) {
    const preview = item.node.querySelector(".upload-preview");
    const extension = (item.file.name.split(".").pop() || "").slice(0, 5).toUpperCase();
    const placeholder = () => {
      const tile = document.createElement("div");
      tile.className = "upload-preview no-preview";
      tile.setAttribute("aria-hidden", "true");
      tile.textContent = extension || "?";
      preview.replaceWith(tile);
    };
    if (!item.file.type.startsWith("image/") || /hei[cf]/i.test(item.file.type + extension)) {
      // Chromium and Firefox cannot draw HEIC; Safari can, but a tile costs nothing.
      placeholder();
      return;
    }
    const url = URL.createObjectURL(item.file);
    preview.addEventListener("load", () => URL.revokeObjectURL(url), { once: true });
    preview.addEventListener("error", () => { URL.revokeObjectURL(url); placeholder(); }, { once: true });
    preview.src = url;
  }

  // The details go with the file: once it is on its way they can no longer change here
  // (the photo's Edit page can), so the fields say so instead of dropping edits.
  function lockDetails(item, locked) {
    item.node.querySelectorAll(".upload-fields input, .upload-fields textarea").forEach((field) => {
      field.disabled = locked;
    });
  }

  function refreshStartButton() {
    startButton.disabled = !items.some((item) => item.state === "ready");
  }

  function addFiles(files) {
    for (const file of files) {
      const node = template.content.firstElementChild.cloneNode(true);
      const item = { file, node, state: "ready" };
      node.querySelector(".upload-name").textContent = file.name + " · " + formatBytes(file.size);
      showPreview(item);
      node.querySelector(".upload-retry").addEventListener("click", () => send(item));
      list.appendChild(node);
      items.push(item);
      if (file.size > maxBytes) {
        fail(item, t("The file is too big ({size}); the limit is {limit}.", { size: formatBytes(file.size), limit: formatBytes(maxBytes) }), false);
      } else if (file.size === 0) {
        fail(item, t("The file is empty."), false);
      }
    }
    refreshStartButton();
  }

  function setStatus(item, text, kind) {
    const status = item.node.querySelector(".upload-status");
    status.textContent = text;
    status.className = "upload-status " + (kind || "");
  }

  function fail(item, message, retryable) {
    item.state = "failed";
    item.node.classList.add("failed");
    setStatus(item, message, "error");
    item.node.querySelector(".upload-retry").hidden = !retryable;
    lockDetails(item, !retryable); // a retry sends them again, so they may still change
  }

  function details(item) {
    // The tags for every photo come before each photo's own; the album (if any) is the same for all.
    const tags = [commonTags ? commonTags.value : "", item.node.querySelector(".upload-tags").value];
    return {
      title: item.node.querySelector(".upload-title").value,
      caption: item.node.querySelector(".upload-caption").value,
      alt_text: item.node.querySelector(".upload-alt").value,
      tags: tags.map((text) => text.trim()).filter(Boolean).join(" "),
      visibility: visibility.value,
      album: album ? album.value : "",
    };
  }

  function request(method, url, body, { json = true, onProgress } = {}) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open(method, url);
      if (json) {
        xhr.setRequestHeader("Accept", "application/json");
        xhr.setRequestHeader("X-CSRFToken", csrfToken);
      }
      if (onProgress) xhr.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable) onProgress(event.loaded / event.total);
      });
      xhr.onload = () => {
        let data = null;
        try { data = JSON.parse(xhr.responseText); } catch (error) { data = null; }
        resolve({ status: xhr.status, data, text: xhr.responseText });
      };
      xhr.onerror = () => reject(new Error(t("The connection failed.")));
      xhr.send(body);
    });
  }

  function errorFrom(response, fallback) {
    if (response.data && response.data.error) return response.data.error;
    const s3Message = /<Message>([^<]*)<\/Message>/.exec(response.text || "");
    if (s3Message && /too large|EntityTooLarge/i.test(response.text)) return t("The file is too big; the limit is {limit}.", { limit: formatBytes(maxBytes) });
    return s3Message ? s3Message[1] : fallback;
  }

  async function send(item) {
    const progress = item.node.querySelector(".upload-progress");
    item.node.classList.remove("failed");
    item.node.querySelector(".upload-retry").hidden = true;
    item.state = "sending";
    lockDetails(item, true);
    setStatus(item, t("Uploading…"));
    const onProgress = (fraction) => { progress.value = Math.round(fraction * 100); };
    try {
      let done;
      if (direct) {
        const start = await request("POST", root.dataset.directStartUrl,
          JSON.stringify({ filename: item.file.name, size: item.file.size }));
        if (start.status !== 200) return fail(item, errorFrom(start, t("The upload could not start.")), start.status >= 500);
        const form = new FormData();
        for (const [name, value] of Object.entries(start.data.fields)) form.append(name, value);
        form.append("file", item.file);
        const stored = await request("POST", start.data.url, form, { json: false, onProgress });
        if (stored.status < 200 || stored.status >= 300) {
          return fail(item, errorFrom(stored, t("Storage refused the file.")), stored.status >= 500);
        }
        setStatus(item, t("Checking…"));
        done = await request("POST", root.dataset.directCompleteUrl,
          JSON.stringify({ token: start.data.token, filename: item.file.name, ...details(item) }));
      } else {
        const form = new FormData();
        form.append("file", item.file);
        for (const [name, value] of Object.entries(details(item))) form.append(name, value);
        done = await request("POST", root.dataset.postUrl, form, { onProgress });
      }
      if (done.status !== 201) {
        fail(item, errorFrom(done, t("The upload failed.")), done.status >= 500);
        if (done.status === 409 && done.data && done.data.existing_url) { // a duplicate: link to the photo it repeats
          const existing = document.createElement("a");
          existing.href = done.data.existing_url;
          existing.textContent = t("See that photo");
          item.node.querySelector(".upload-status").append(" ", existing);
        }
        return;
      }
      progress.value = 100;
      item.state = "done";
      item.node.classList.add("done");
      const status = item.node.querySelector(".upload-status");
      status.className = "upload-status ok";
      status.textContent = t("Uploaded.") + " ";
      const link = document.createElement("a");
      link.href = done.data.url;
      link.textContent = t("View photo");
      const edit = document.createElement("a");
      edit.href = done.data.url + "edit/";
      edit.textContent = t("Edit details");
      status.append(link, " · ", edit);
    } catch (error) {
      fail(item, error.message + " " + t("Check your connection and retry."), true);
    }
  }

  input.addEventListener("change", () => { addFiles(input.files); input.value = ""; });
  const zone = root.querySelector(".dropzone");
  ["dragenter", "dragover"].forEach((name) => zone.addEventListener(name, (event) => {
    event.preventDefault(); zone.classList.add("over");
  }));
  ["dragleave", "drop"].forEach((name) => zone.addEventListener(name, (event) => {
    event.preventDefault(); zone.classList.remove("over");
  }));
  zone.addEventListener("drop", (event) => addFiles(event.dataTransfer.files));
  startButton.addEventListener("click", async () => {
    startButton.disabled = true;
    for (const item of items.filter((candidate) => candidate.state === "ready")) await send(item);
    refreshStartButton(); // files added meanwhile are still to send
  });
})();
