// sign.js: a member's key and signatures, in the member's own browser.
//
// A member imports once the private key file that `truce keygen` or
// `truce demo` wrote (PEM PKCS#8 Ed25519). The key is kept in IndexedDB
// as a non-extractable WebCrypto key: pages can sign with it, but no
// script can read it back from there, and it never reaches the server.
// While importing, importMemberKey briefly holds an extractable copy
// (and its JWK) to read the public key, then drops it and zeroes the
// private bytes it can reach. Statements are signed as DSSE v1 envelopes exactly as truce's
// Go code writes them (see dsse.go and /work/shared/SPEC.md).
//
// Plain JavaScript, no dependencies, loaded as a module:
//   <script type="module" src="/static/sign.js"></script>
// WebCrypto and IndexedDB need a secure context: https, or http on
// 127.0.0.1 or localhost.

// PAYLOAD_TYPE is the DSSE payloadType of every truce statement.
export const PAYLOAD_TYPE = "application/vnd.truce.statement+json";

const DB_NAME = "truce";
const STORE = "keys";
// The browser holds one member's key at a time: importing another
// member's key replaces it.
const SLOT = "member";

// SubmitError is what submit throws: the server's error, with the field
// it concerns when it names one, so that a form can show it there.
export class SubmitError extends Error {
  constructor(code, message, field = "", index = null) {
    super(message);
    this.name = "SubmitError";
    // code is the HTTP status (400, 401, 403, 409, 413, ...), 0 when the
    // server could not be reached.
    this.code = code;
    // field is a dotted path such as "body.location.lat", or "".
    this.field = field;
    // index is set when the statement was logged all the same but marked
    // rejected.
    this.index = index;
  }
}

// importMemberKey reads a PEM PKCS#8 Ed25519 private key, keeps it in
// IndexedDB as a non-extractable key, and returns what is stored, less
// the key: {memberId, keyid, publicKey}. When memberId is empty it is
// looked up in the charter's members (GET /v1/members) by the key.
export async function importMemberKey(pemText, memberId) {
  const der = pemPKCS8(pemText);
  let publicKey, key;
  try {
    // WebCrypto derives no public key from a private one; an extractable
    // copy, exported as JWK, gives it (its x), and is dropped at once.
    let tmp;
    try {
      tmp = await crypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, true, ["sign"]);
    } catch (e) {
      throw new Error("the key file is not an Ed25519 key (make one with truce keygen): " + e.message);
    }
    const jwk = await crypto.subtle.exportKey("jwk", tmp);
    tmp = null;
    // A JS string cannot be zeroed: overwrite and drop the reference so
    // that the private part does not outlive this call.
    jwk.d = "";
    delete jwk.d;
    publicKey = fromBase64url(jwk.x);
    key = await crypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, false, ["sign"]);
  } finally {
    der.fill(0);
  }
  if (publicKey.length !== 32) {
    throw new Error("the key file holds a public key of " + publicKey.length + " bytes, an Ed25519 key is 32");
  }
  const keyid = await hexSHA256(publicKey);
  if (!memberId) {
    const m = await memberForKey(keyid);
    if (!m) {
      throw new Error("no member of this mechanism has this key (keyid " + keyid.slice(0, 16) + ")");
    }
    memberId = m.id;
  }
  const record = { memberId, keyid, publicKey: toBase64(publicKey), key };
  await withStore("readwrite", (s) => {
    s.clear();
    s.put(record, SLOT);
  });
  return { memberId, keyid, publicKey: record.publicKey };
}

// loadMemberKey gives the stored key {memberId, keyid, publicKey, key},
// or null when none is stored. key is a non-extractable CryptoKey.
export async function loadMemberKey() {
  const r = await withStore("readonly", (s) => s.get(SLOT));
  return r || null;
}

// forgetMemberKey removes the stored key from this browser.
export async function forgetMemberKey() {
  await withStore("readwrite", (s) => s.clear());
}

// memberForKey finds the current charter's member with this keyid, from
// GET /v1/members, or null.
export async function memberForKey(keyid) {
  const members = await getJSON("/v1/members");
  return (members.items || []).find((m) => (m.keyids || []).includes(keyid)) || null;
}

// prepareStatement completes a statement {type, mechanism, author, body}
// without signing it: id (a new UUIDv7), time (now, UTC, in seconds),
// author (the stored key's member) and mechanism (the log's origin, from
// GET /v1/log) where absent. It returns a new object in the field order
// of truce's statements, which is what a form shows before signing.
export async function prepareStatement(statement) {
  const st = {
    type: statement.type,
    id: statement.id || uuidv7(),
    mechanism: statement.mechanism,
    author: statement.author,
    time: statement.time || rfc3339(new Date()),
    body: statement.body,
  };
  if (!st.author) {
    const k = await requireKey();
    st.author = k.memberId;
  }
  if (!st.mechanism) {
    st.mechanism = (await getJSON("/v1/log")).origin;
  }
  return st;
}

// signStatement completes the statement as prepareStatement does, signs
// it with the stored key, and returns the DSSE envelope
// {payload, payloadType, signatures: [{keyid, sig}]}, with the fields in
// the order and the standard base64 that truce's Go code writes.
export async function signStatement(statement) {
  const k = await requireKey();
  const st = await prepareStatement({ author: k.memberId, ...statement });
  const payload = new TextEncoder().encode(JSON.stringify(st));
  const sig = await sign(k.key, pae(PAYLOAD_TYPE, payload));
  return {
    payload: toBase64(payload),
    payloadType: PAYLOAD_TYPE,
    signatures: [{ keyid: k.keyid, sig: toBase64(sig) }],
  };
}

// cosign adds the stored key's signature to an envelope that others
// signed (a charter amendment, say), replacing an earlier one by the same
// key, and returns the new envelope.
export async function cosign(envelope) {
  if (envelope.payloadType !== PAYLOAD_TYPE) {
    throw new Error("the envelope's payloadType is " + JSON.stringify(envelope.payloadType) + ", want " + PAYLOAD_TYPE);
  }
  const k = await requireKey();
  const payload = fromBase64(envelope.payload);
  const sig = toBase64(await sign(k.key, pae(PAYLOAD_TYPE, payload)));
  const others = (envelope.signatures || []).filter((s) => s.keyid !== k.keyid);
  return {
    payload: envelope.payload,
    payloadType: PAYLOAD_TYPE,
    signatures: [...others.map((s) => ({ keyid: s.keyid, sig: s.sig })), { keyid: k.keyid, sig }],
  };
}

// decodeStatement gives the statement an envelope carries, to show it.
export function decodeStatement(envelope) {
  return JSON.parse(new TextDecoder().decode(fromBase64(envelope.payload)));
}

// submit posts an envelope to POST /v1/statements and gives
// {index, verdict}. It throws a SubmitError carrying the server's code
// and message, and the field path when the message names one; a
// statement that was logged but marked rejected throws too, with index.
export async function submit(envelope) {
  let resp, text;
  try {
    resp = await fetch("/v1/statements", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(envelope),
      credentials: "same-origin",
    });
    text = await resp.text();
  } catch (e) {
    throw new SubmitError(0, "cannot reach the server: " + e.message);
  }
  let m = null;
  try {
    m = JSON.parse(text);
  } catch {
    // Handled below: a proxy's error page, say.
  }
  if (!resp.ok || !m || typeof m.index !== "number") {
    const err = (m && m.error) || {};
    const message = err.message || "the server answered " + resp.status + " " + resp.statusText;
    throw new SubmitError(err.code || resp.status, message, fieldOf(message), m && typeof m.index === "number" ? m.index : null);
  }
  if (m.verdict && m.verdict.accepted === false) {
    const reason = m.verdict.reason || "rejected";
    throw new SubmitError(resp.status, reason, fieldOf(reason), m.index);
  }
  return { index: m.index, verdict: m.verdict || { accepted: true } };
}

// fieldOf finds the statement field that a server message is about.
// truce.FieldError messages begin with the field's dotted path
// ("body.location.lat must be between -90 and 90"); other messages may
// name a body field further on.
export function fieldOf(message) {
  const path = "(?:\\.[A-Za-z_][A-Za-z0-9_]*|\\[\\d+\\])*";
  const lead = new RegExp("^((?:type|id|mechanism|author|time|body)" + path + ") ").exec(message);
  if (lead) {
    return lead[1];
  }
  const inner = new RegExp("(?:^|[\\s(:])(body" + path + ")(?=[\\s:,)]|$)").exec(message);
  return inner && inner[1] !== "body" ? inner[1] : "";
}

// CHALLENGE_PREFIX is the first line of every sign-in challenge.
export const CHALLENGE_PREFIX = "truce sign-in v1";

// signChallenge signs a sign-in challenge with the stored key and gives
// the standard base64 of the 64-byte Ed25519 signature. It signs nothing
// but a challenge for this mechanism, this site and the stored key's
// member: exactly the five lines
//
//   truce sign-in v1
//   mechanism: <the log's origin, from GET /v1/log>
//   site: <location.host>
//   member: <the stored key's member>
//   nonce: <hex digits>
//
// each ending in a newline, so that a tampered answer cannot get a DSSE
// PAE, another site's challenge or anything else signed. When nonce is
// given, the challenge's must be it.
export async function signChallenge(text, nonce) {
  const k = await requireKey();
  const origin = (await getJSON("/v1/log")).origin;
  checkChallenge(String(text), origin, location.host, k.memberId, nonce);
  return toBase64(await sign(k.key, new TextEncoder().encode(text)));
}

// checkChallenge throws unless text is the sign-in challenge for origin,
// host and member (and nonce, when given).
export function checkChallenge(text, origin, host, member, nonce) {
  const lines = text.split("\n");
  const want = [CHALLENGE_PREFIX, "mechanism: " + origin, "site: " + host, "member: " + member];
  const bad = (why) => new Error("refusing to sign the server's sign-in challenge: " + why);
  if (lines.length !== 6 || lines[5] !== "") {
    throw bad("it is not the five lines of a truce sign-in challenge");
  }
  for (let i = 0; i < want.length; i++) {
    if (lines[i] !== want[i]) {
      throw bad("line " + (i + 1) + " is " + JSON.stringify(lines[i]) + ", want " + JSON.stringify(want[i]));
    }
  }
  const n = /^nonce: ([0-9a-f]{32,256})$/.exec(lines[4]);
  if (!n || (nonce !== undefined && n[1] !== nonce)) {
    throw bad("line 5 is " + JSON.stringify(lines[4]) + ", want the challenge's nonce");
  }
}

// sha256File gives {sha256, size} of a File or Blob: the lowercase hex
// SHA-256 that an evidence.add statement names and that
// PUT /v1/evidence/{sha256} checks.
export async function sha256File(file) {
  const data = await file.arrayBuffer();
  return { sha256: await hexSHA256(data), size: data.byteLength };
}

// uuidv7 gives a new UUIDv7: 48 bits of Unix milliseconds, then random.
// SPEC: RFC 9562, section 5.7.
export function uuidv7() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  let ms = Date.now();
  for (let i = 5; i >= 0; i--) {
    b[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  b[6] = (b[6] & 0x0f) | 0x70;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = hex(b);
  return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
}

// pae is DSSE's pre-authentication encoding; lengths count bytes.
// SPEC: https://github.com/secure-systems-lab/dsse/blob/master/protocol.md
export function pae(payloadType, payload) {
  const enc = new TextEncoder();
  const type = enc.encode(payloadType);
  const head = enc.encode("DSSEv1 " + type.length + " " + payloadType + " " + payload.length + " ");
  const out = new Uint8Array(head.length + payload.length);
  out.set(head);
  out.set(payload, head.length);
  return out;
}

function rfc3339(d) {
  return d.toISOString().replace(/\.\d+Z$/, "Z");
}

async function sign(key, data) {
  return new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, key, data));
}

async function requireKey() {
  const k = await loadMemberKey();
  if (!k) {
    throw new Error("no member key in this browser: import your key file first");
  }
  return k;
}

function pemPKCS8(text) {
  const m = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/.exec(String(text));
  if (!m) {
    throw new Error("the key file is not PEM (it should begin with -----BEGIN PRIVATE KEY-----)");
  }
  if (m[1] !== "PRIVATE KEY") {
    throw new Error('the key file holds a "' + m[1] + '" block, want a PKCS#8 "PRIVATE KEY" (make one with truce keygen)');
  }
  try {
    return fromBase64(m[2].replace(/\s+/g, ""));
  } catch {
    throw new Error("the key file's PEM block is not base64");
  }
}

async function getJSON(path) {
  const resp = await fetch(path, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  if (!resp.ok) {
    throw new Error("cannot read " + path + ": the server answered " + resp.status);
  }
  return resp.json();
}

function openDB() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(new Error("cannot open the browser's key store: " + req.error));
  });
}

// withStore runs fn on the key store in one transaction, and gives the
// result of the request fn returns, once the transaction is complete.
async function withStore(mode, fn) {
  const db = await openDB();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = fn(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(req ? req.result : undefined);
      tx.onerror = () => reject(new Error("cannot use the browser's key store: " + tx.error));
      tx.onabort = () => reject(new Error("cannot use the browser's key store: " + tx.error));
    });
  } finally {
    db.close();
  }
}

async function hexSHA256(data) {
  return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", data)));
}

function hex(b) {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function toBase64(b) {
  let s = "";
  for (let i = 0; i < b.length; i += 0x8000) {
    s += String.fromCharCode.apply(null, b.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

function fromBase64(s) {
  const bin = atob(s);
  const b = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) {
    b[i] = bin.charCodeAt(i);
  }
  return b;
}

function fromBase64url(s) {
  const t = s.replace(/-/g, "+").replace(/_/g, "/");
  return fromBase64(t + "===".slice((t.length + 3) % 4));
}
