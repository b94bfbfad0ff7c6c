// member.js: the member pages' forms, progressively enhanced.
//
// The server renders every form as plain labelled HTML in the reader's
// language; this module builds the statement from the fields (each input
// names its statement field in data-field, such as body.location.lat),
// shows exactly what will be signed, signs it with sign.js in this
// browser, submits it, and shows the log index it got. A server error
// that names a field is shown next to that field; nothing typed is
// cleared. Messages come from the page's <ul id="messages">.

import * as sign from "./sign.js";

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

function msg(key, args = {}) {
  const li = $('#messages li[data-key="' + key + '"]');
  let s = li ? li.textContent : key;
  for (const [k, v] of Object.entries(args)) {
    s = s.replace("{" + k + "}", v);
  }
  return s;
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    e.setAttribute(k, v);
  }
  for (const c of children) {
    e.append(c);
  }
  return e;
}

function showError(form, text) {
  const p = $(".form-error", form);
  p.textContent = text;
  p.hidden = !text;
}

// clearFieldErrors removes the errors shown next to fields.
function clearFieldErrors(form) {
  for (const p of $$(".field-error", form)) {
    p.remove();
  }
  for (const i of $$("[aria-invalid]", form)) {
    i.removeAttribute("aria-invalid");
  }
}

// fieldElement finds the input for a statement field: the one that names
// it, or the nearest that names a field it is part of
// (body.clauses[2] → body.clauses, body.location → body.location.place).
function fieldElement(form, field) {
  let f = field;
  while (f) {
    const e = $('[data-field="' + f + '"]', form);
    if (e) {
      return e;
    }
    const cut = Math.max(f.lastIndexOf("."), f.lastIndexOf("["));
    f = cut > 0 ? f.slice(0, cut) : "";
  }
  return $('[data-field^="' + field + '."]', form);
}

// showFieldError puts the server's message next to the field it
// concerns and moves the focus there; false when no field matches.
function showFieldError(form, field, text) {
  const e = field && fieldElement(form, field);
  if (!e) {
    return false;
  }
  const box = e.closest(".field, fieldset") || e.parentElement;
  const id = "err-" + field.replace(/[^A-Za-z0-9_-]/g, "-");
  const p = el("p", { class: "field-error error", id, lang: "en", dir: "ltr" }, text);
  box.append(p);
  const input = e.matches("input, select, textarea") ? e : $("input, select, textarea", e);
  if (input) {
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", ((input.getAttribute("aria-describedby") || "") + " " + id).trim());
    input.focus();
  }
  return true;
}

// valueOf reads one data-field element as its data-kind says; undefined
// leaves the field out of the statement.
function valueOf(e) {
  const kind = e.dataset.kind || "string";
  if (kind === "checks") {
    return $$("input[type=checkbox]:checked", e).map((c) => c.value);
  }
  if (kind === "radio") {
    const c = $("input[type=radio]:checked", e);
    return c ? c.value : "";
  }
  const v = e.value.trim();
  if (v === "" && "optional" in e.dataset) {
    return undefined;
  }
  switch (kind) {
    case "number":
      return v === "" ? undefined : Number(v);
    case "int":
      return v === "" ? undefined : parseInt(v, 10);
    case "lines":
      return v.split(/\r?\n/).map((s) => s.trim()).filter((s) => s);
  }
  return v;
}

function setPath(obj, path, v) {
  const parts = path.split(".");
  let o = obj;
  for (const p of parts.slice(0, -1)) {
    o = o[p] = o[p] || {};
  }
  o[parts[parts.length - 1]] = v;
}

// buildStatement makes {type, body} from the form's fields. A fieldset
// marked data-optional-group is left out while its place is empty.
function buildStatement(form) {
  const st = { type: form.dataset.type, body: {} };
  const skip = $$("[data-optional-group]", form).filter((g) => {
    const place = $('[data-field$=".place"]', g);
    return place && place.value.trim() === "";
  });
  for (const e of $$("[data-field]", form)) {
    if (e.closest("[data-kind=checks], [data-kind=radio]") !== e && e.closest("[data-kind=checks], [data-kind=radio]")) {
      continue;
    }
    if (skip.some((g) => g.contains(e))) {
      continue;
    }
    const v = valueOf(e);
    if (v !== undefined) {
      setPath(st, e.dataset.field, v);
    }
  }
  return st;
}

function resultLinks(index, subjectURL) {
  const p = el("p", {}, msg("logged", { index: String(index) }), " ",
    el("a", { href: "/v1/statements/" + index, class: "index" }, msg("entry")), " · ",
    el("a", { href: "/v1/statements/" + index + "/receipt" }, msg("receipt")));
  if (subjectURL) {
    p.append(" · ", el("a", { href: subjectURL, class: "open-subject" }, msg("open_subject")));
  }
  return p;
}

function showResult(nodes) {
  const r = $("#result");
  r.replaceChildren(...nodes);
  r.hidden = false;
  r.focus();
}

// submitError shows a SubmitError: next to its field when it names one,
// and above the button.
function submitError(form, e) {
  if (e.code === 0) {
    showError(form, msg("unreachable"));
    return;
  }
  const text = msg("refused") + " " + e.message + (e.code ? " (" + e.code + ")" : "");
  showError(form, text);
  showFieldError(form, e.field, e.message);
}

function enableButtons(root) {
  for (const b of $$("[data-needs-js]", root)) {
    b.disabled = false;
  }
}

// statementForm wires a form that makes one statement.
function statementForm(form) {
  const review = $("#review");
  const pre = $("#statement-json");
  let prepared = null;
  let busy = false;
  // hashed is the evidence file whose hash the prepared statement names:
  // the one uploaded, whatever the input holds by then.
  let hashed = null;

  // Any edit after review makes the statement shown stale: take it away,
  // so that only a statement on show can be signed, and a new review
  // shows the edit.
  const stale = () => {
    if (!busy) {
      review.hidden = true;
      prepared = null;
    }
  };
  form.addEventListener("input", stale);
  form.addEventListener("change", stale);

  if ("evidence" in form.dataset) {
    // Another file makes the name and media type filled in from the last
    // file wrong.
    $("#f-file", form).addEventListener("change", () => {
      for (const id of ["#f-name", "#f-media"]) {
        const e = $(id, form);
        if ("filled" in e.dataset && e.value === e.dataset.filled) {
          e.value = "";
        }
      }
    });
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    showError(form, "");
    try {
      if ("evidence" in form.dataset) {
        hashed = await hashEvidence(form);
      }
      prepared = await sign.prepareStatement(buildStatement(form));
    } catch (e) {
      showError(form, e.message);
      return;
    }
    pre.textContent = JSON.stringify(prepared, null, 2);
    review.hidden = false;
    $("#result").hidden = true;
    $("#sign-submit").focus();
  });

  $("#edit").addEventListener("click", () => {
    review.hidden = true;
    prepared = null;
    $("[data-field]:not([type=hidden])", form)?.focus();
  });

  $("#sign-submit").addEventListener("click", async () => {
    if (!prepared || busy) {
      return;
    }
    busy = true;
    const button = $("#sign-submit");
    button.disabled = true;
    try {
      showResult([el("p", {}, msg("signing"))]);
      const env = await sign.signStatement(prepared);
      showResult([el("p", {}, msg("submitting"))]);
      const res = await sign.submit(env);
      const nodes = [resultLinks(res.index, subjectURL(prepared))];
      review.hidden = true;
      if ("evidence" in form.dataset) {
        nodes.push(el("p", {}, msg("uploading")));
        showResult(nodes);
        nodes.pop();
        nodes.push(await uploadWithRetry(hashed, prepared.body.sha256));
      }
      showResult(nodes);
      prepared = null;
    } catch (e) {
      review.hidden = true;
      $("#result").hidden = true;
      if (e instanceof sign.SubmitError) {
        submitError(form, e);
      } else {
        showError(form, e.message);
      }
      prepared = null;
    } finally {
      busy = false;
      button.disabled = false;
    }
  });
}

// subjectURL is the page of the report a statement makes or concerns.
function subjectURL(st) {
  if (st.type === "incident.report") {
    return "/incidents/" + st.id;
  }
  if (st.type === "action.report") {
    return "/actions/" + st.id;
  }
  if (st.body && st.body.subject) {
    return location.pathname.replace(/\/[^/]+$/, "");
  }
  return "";
}

// hashEvidence hashes the chosen file and fills in its sha256 and size,
// and its name and media type when they are empty (marking what it
// filled, so that picking another file replaces them); it gives the file.
async function hashEvidence(form) {
  const file = $("#f-file", form).files[0];
  if (!file) {
    throw new Error($("label[for=f-file]", form).textContent);
  }
  const { sha256, size } = await sign.sha256File(file);
  $("#f-sha", form).value = sha256;
  $("#f-size", form).value = String(size);
  const fill = (id, v) => {
    const e = $(id, form);
    if (!e.value) {
      e.value = v;
      e.dataset.filled = v;
    }
  };
  fill("#f-name", file.name);
  fill("#f-media", file.type || "application/octet-stream");
  return file;
}

// uploadWithRetry uploads the file, and when that fails offers a button
// that tries the upload alone again: the evidence.add is logged already,
// and PUT /v1/evidence/{sha256} takes the file for a logged hash.
async function uploadWithRetry(file, sha256) {
  const box = el("div", { class: "upload" });
  const attempt = async () => {
    box.replaceChildren(el("p", {}, msg("uploading")));
    const out = await upload(file, sha256);
    box.replaceChildren(out);
    if (out.classList.contains("error")) {
      const retry = el("button", { type: "button", class: "retry-upload" }, msg("retry_upload"));
      retry.addEventListener("click", () => {
        retry.disabled = true;
        attempt();
      });
      box.append(el("div", { class: "buttons" }, retry));
    }
  };
  await attempt();
  return box;
}

async function upload(file, sha256) {
  try {
    const resp = await fetch("/v1/evidence/" + sha256, { method: "PUT", body: file, credentials: "same-origin" });
    if (!resp.ok) {
      let m = resp.status + " " + resp.statusText;
      try {
        m = (await resp.json()).error.message;
      } catch {
        // Keep the status.
      }
      return el("p", { class: "error" }, msg("upload_failed") + " " + m);
    }
    return el("p", { class: "uploaded" }, msg("uploaded"));
  } catch (e) {
    return el("p", { class: "error" }, msg("upload_failed") + " " + e.message);
  }
}

// placePicker fills the location fields from the chosen border place.
function placePicker(form) {
  const place = $("#f-place", form);
  if (!place) {
    return;
  }
  place.addEventListener("change", () => {
    const o = $$("#places option").find((o) => o.value === place.value);
    if (!o) {
      return;
    }
    $("#f-admin1", form).value = o.dataset.admin1;
    $("#f-admin2", form).value = o.dataset.admin2;
    $("#f-country", form).value = o.dataset.country;
    $("#f-lat", form).value = o.dataset.lat;
    $("#f-lon", form).value = o.dataset.lon;
  });
}

// subEvents keeps the sub-event list to the chosen event type's.
function subEvents(form) {
  const type = $("#f-event", form);
  const sub = $("#f-sub", form);
  if (!type || !sub) {
    return;
  }
  const update = () => {
    for (const g of $$("optgroup", sub)) {
      const on = g.dataset.event === type.value;
      g.hidden = !on;
      g.disabled = !on;
    }
    const current = sub.selectedOptions[0];
    if (!current || current.parentElement.dataset.event !== type.value) {
      const first = $('optgroup[data-event="' + CSS.escape(type.value) + '"] option', sub);
      if (first) {
        sub.value = first.value;
      }
    }
  };
  type.addEventListener("change", update);
  update();
}

// signInForm imports the key file (or uses the stored key) and signs the
// server's challenge.
function signInForm(form) {
  sign.loadMemberKey().then((stored) => {
    if (stored) {
      $("#stored-member").textContent = stored.memberId;
      $("#stored").hidden = false;
    }
  }, () => {});
  const go = async (pem) => {
    showError(form, "");
    const status = $(".form-error", form);
    try {
      let k;
      if (pem) {
        k = await sign.importMemberKey(pem, $("#member-id").value.trim());
      } else {
        k = await sign.loadMemberKey();
        if (!k) {
          throw new Error(msg("no_key"));
        }
      }
      const member = k.memberId;
      const ch = await postJSON("/signin/challenge", { member });
      const signature = await sign.signChallenge(ch.text, ch.nonce);
      await postJSON("/signin", { member, keyid: k.keyid, nonce: ch.nonce, signature });
      location.assign(sameSite(form.dataset.next));
    } catch (e) {
      status.textContent = msg("signin_failed") + " " + e.message;
      status.hidden = false;
    }
  };
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const file = $("#keyfile").files[0];
    await go(file ? await file.text() : null);
  });
  $("#keyfile").addEventListener("change", async () => {
    const file = $("#keyfile").files[0];
    if (file) {
      await go(await file.text());
    }
  });
  $("#use-stored").addEventListener("click", () => go(null));
  $("#forget").addEventListener("click", async () => {
    await sign.forgetMemberKey();
    $("#stored").hidden = true;
    showError(form, msg("forgotten"));
  });
}

// sameSite is next when it is a URL on this site, /member otherwise: the
// server checks it too, and this is the last word before navigating.
function sameSite(next) {
  try {
    const u = new URL(next || "/member", location.origin);
    if (u.origin === location.origin) {
      return u.pathname + u.search + u.hash;
    }
  } catch {
    // Not a URL: go home.
  }
  return "/member";
}

async function postJSON(path, body) {
  const resp = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
    credentials: "same-origin",
  });
  const m = await resp.json().catch(() => null);
  if (!resp.ok) {
    throw new Error((m && m.error && m.error.message) || resp.status + " " + resp.statusText);
  }
  return m;
}

// cosignForm shows what an amendment changes against the charter in
// force, adds the member's signature, and submits or saves it.
function cosignForm(form) {
  const area = $("#f-envelope");
  let env = null;
  $("#f-envfile").addEventListener("change", async () => {
    const f = $("#f-envfile").files[0];
    if (f) {
      area.value = await f.text();
    }
  });
  const show = async () => {
    showError(form, "");
    let st;
    try {
      env = JSON.parse(area.value);
      st = sign.decodeStatement(env);
    } catch (e) {
      showError(form, msg("bad_envelope") + " " + e.message);
      return false;
    }
    if (st.type !== "charter.amend") {
      showError(form, msg("not_amend") + " " + st.type);
      return false;
    }
    const [charter, members] = await Promise.all([getJSON("/v1/charter"), getJSON("/v1/members")]);
    $("#changes").replaceChildren(...changes(charter, st.body));
    $("#signatures").replaceChildren(...signatures(env, charter, st.body, members.items || []));
    $("#statement-json").textContent = JSON.stringify(st, null, 2);
    $("#review").hidden = false;
    return true;
  };
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (await show()) {
      $("#cosign").focus();
    }
  });
  $("#cosign").addEventListener("click", async () => {
    try {
      env = await sign.cosign(env);
      area.value = JSON.stringify(env, null, 2);
      await show();
      $("#cosign-submit").hidden = false;
      $("#cosign-save").hidden = false;
      showResult([el("p", {}, msg("cosigned"))]);
    } catch (e) {
      showError(form, e.message);
    }
  });
  $("#cosign-submit").addEventListener("click", async () => {
    try {
      showResult([el("p", {}, msg("submitting"))]);
      const res = await sign.submit(env);
      showResult([resultLinks(res.index, "/charter")]);
    } catch (e) {
      $("#result").hidden = true;
      showError(form, (e.code === 0 ? msg("unreachable") : msg("refused") + " " + e.message));
    }
  });
  $("#cosign-save").addEventListener("click", () => {
    const st = sign.decodeStatement(env);
    const a = el("a", {
      href: URL.createObjectURL(new Blob([JSON.stringify(env, null, 2) + "\n"], { type: "application/json" })),
      download: "charter-amend-" + st.body.version + "-" + st.id + ".json",
    });
    document.body.append(a);
    a.click();
    a.remove();
    showResult([el("p", {}, msg("saved"))]);
  });
}

async function getJSON(path) {
  const resp = await fetch(path, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  if (!resp.ok) {
    throw new Error("cannot read " + path + ": " + resp.status);
  }
  return resp.json();
}

// changes lists what an amendment's members, clauses and rules change.
function changes(charter, body) {
  const out = [el("p", {}, msg("version") + " " + body.version)];
  const diff = (title, before, after, show) => {
    const old = new Map((before || []).map((x) => [x.id, x]));
    const neu = new Map((after || []).map((x) => [x.id, x]));
    const ul = el("ul", { class: "changes" });
    for (const [id, x] of neu) {
      if (!old.has(id)) {
        ul.append(el("li", { class: "added" }, msg("added") + ": " + show(x)));
      } else if (JSON.stringify(old.get(id)) !== JSON.stringify(x)) {
        ul.append(el("li", { class: "changed" }, msg("changed") + ": " + show(old.get(id)) + " → " + show(x)));
      }
    }
    for (const [id, x] of old) {
      if (!neu.has(id)) {
        ul.append(el("li", { class: "removed" }, msg("removed") + ": " + show(x)));
      }
    }
    if (!ul.children.length) {
      ul.append(el("li", {}, msg("unchanged")));
    }
    out.push(el("h3", {}, title), ul);
  };
  diff(msg("members"), charter.members, body.members, (m) => m.id + " (" + m.name + ", " + m.role + (m.party ? " " + m.party : "") + ")");
  diff(msg("clauses"), charter.clauses, body.clauses, (c) => c.id + ": " + c.text);
  const before = JSON.stringify(charter.rules, null, 1);
  const after = JSON.stringify(body.rules, null, 1);
  out.push(el("h3", {}, msg("rules")));
  if (before === after) {
    out.push(el("p", {}, msg("unchanged")));
  } else {
    out.push(el("pre", { dir: "ltr", class: "removed" }, before), el("pre", { dir: "ltr", class: "added" }, after));
  }
  return out;
}

// signatures says who signed the envelope and who still must: every
// current party and mediator member.
function signatures(env, charter, body, members) {
  const byKey = new Map();
  for (const m of members) {
    for (const k of m.keyids || []) {
      byKey.set(k, m.id);
    }
  }
  const signed = new Set((env.signatures || []).map((s) => byKey.get(s.keyid) || s.keyid.slice(0, 16) + "…"));
  const need = (charter.members || []).filter((m) => m.role === "party" || m.role === "mediator").map((m) => m.id);
  const missing = need.filter((id) => !signed.has(id));
  const out = [el("p", {}, msg("signed_by") + ": " + ([...signed].join(", ") || "—"))];
  out.push(el("p", {}, missing.length ? msg("missing") + ": " + missing.join(", ") : msg("complete")));
  return out;
}

const signin = $("#signin-form");
if (signin) {
  signInForm(signin);
  enableButtons(signin);
}
const form = $("#statement-form");
if (form) {
  placePicker(form);
  subEvents(form);
  statementForm(form);
  enableButtons(form);
}
const cosign = $("#cosign-form");
if (cosign) {
  cosignForm(cosign);
  enableButtons(cosign);
}
