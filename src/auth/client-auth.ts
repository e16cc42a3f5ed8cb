import { timingSafeEqual } from "node:crypto";
import { MqraftError } from "../util/errors.ts";
import type { Logger } from "../util/log.ts";
import { LOOPBACK } from "./cluster-auth.ts";
import { readSecretFile } from "./secret-file.ts";
import { MAX_TOKEN_LENGTH, tokenDigest, tokenUser, verifyToken } from "./user-token.ts";

/** The users of the replicated state, as far as authentication needs them (src/broker/users.ts). */
export interface UserDirectory {
  readonly size: number;
  /** Counts changes: unchanged, no session needs a second look. */
  readonly version: number;
  get(name: string): { name: string; hash: string; admin: boolean; publish: string[]; subscribe: string[] } | undefined;
}

/** Who a client connection is, and what it may do; fixed at its hello. */
export interface Principal {
  /** The user's name; ADMIN_TOKEN_USER for --admin-token-file, ANONYMOUS while auth is off. */
  readonly name: string;
  readonly admin: boolean;
  readonly publish: readonly string[];
  readonly subscribe: readonly string[];
  /** The hash the token was checked against: the session ends when the user's hash is no longer this one. */
  readonly hash?: string;
  /** A client that gave no token where one is required: it may ask for status and the read index, nothing else. */
  readonly tokenless?: true;
}

export const ADMIN_TOKEN_USER = "(admin token)";
export const ANONYMOUS = "(anyone: auth is off)";
export const NO_TOKEN = "(no token)";
const EVERYONE: Principal = { name: ANONYMOUS, admin: true, publish: [">"], subscribe: [">"] };
const TOKENLESS: Principal = { name: NO_TOKEN, admin: false, publish: [], subscribe: [], tokenless: true };

/** Tokens already checked, by digest: a reconnecting client costs no second hash check. */
const MAX_REMEMBERED = 10_000;
/** Hash checks running at once, at most: each takes milliseconds of a core and 19 MiB (user-token.ts). */
const MAX_CHECKS_AT_ONCE = 2;
/** An admin token shorter than this is too easy to guess. */
const MIN_ADMIN_TOKEN_BYTES = 16;

/** The --admin-token-file token, refused (BAD_CONFIG, naming the file) as secret files are, or when too short. */
export function readAdminTokenFile(path: string): Uint8Array {
  const token = readSecretFile(path, "admin token file");
  if (token.length < MIN_ADMIN_TOKEN_BYTES)
    throw new MqraftError(
      "BAD_CONFIG",
      `admin token file ${path} holds ${token.length} bytes; an admin token needs at least ${MIN_ADMIN_TOKEN_BYTES}`,
    );
  return token;
}

/** A broker's client auth: its admin token, if --admin-token-file names one, and the replicated users. */
export function loadClientAuth(adminTokenFile: string | undefined, users: () => UserDirectory): ClientAuth {
  return new ClientAuth(users, adminTokenFile === undefined ? undefined : readAdminTokenFile(adminTokenFile));
}

/** Said once at start by a broker that anyone beyond this machine may use as an admin. */
export function warnIfOpen(auth: ClientAuth, host: string, log: Logger): void {
  if (auth.required || LOOPBACK.test(host)) return;
  log.warn(
    `Listening on ${host} with client auth off (no --admin-token-file, no users known yet): until a user is added, anyone who reaches this port can publish, subscribe and administer the cluster (docs/security.md)`,
  );
}

/**
 * Client authentication on one broker (docs/security.md). Auth is on once the replicated state holds a user or this
 * broker was given an admin token; until then every client may do everything, as before auth existed.
 */
export class ClientAuth {
  private readonly remembered = new Map<string, string>();
  private checksRunning = 0;
  private readonly waiting: (() => void)[] = [];
  /** Admitted client sessions, each with how to end it when its user is removed or rotated. */
  private readonly sessions = new Map<object, { principal: Principal; end: (why: MqraftError) => void }>();
  private seen: { users: UserDirectory; version: number } | undefined;

  constructor(
    private readonly users: () => UserDirectory,
    private readonly adminToken: Uint8Array | undefined,
  ) {}

  get required(): boolean {
    return this.adminToken !== undefined || this.users().size > 0;
  }

  /**
   * The principal `token` stands for; UNAUTHENTICATED (never saying which part was wrong) when it stands for none.
   * No token at all is admitted as tokenless: followers ask the leader for its read index that way, and managers
   * ask for status; every other request of such a session is refused (request-permission.ts).
   */
  async authenticate(token: string | undefined): Promise<Principal> {
    if (!this.required) return EVERYONE;
    if (token === undefined || token === "") return TOKENLESS;
    if (token.length <= MAX_TOKEN_LENGTH && this.isAdminToken(token))
      return { name: ADMIN_TOKEN_USER, admin: true, publish: [">"], subscribe: [">"] };
    const name = tokenUser(token);
    const user = name === undefined ? undefined : this.users().get(name);
    if (user === undefined) throw refused();
    const digest = tokenDigest(token);
    if (this.remembered.get(digest) !== user.hash) {
      if (!(await this.check(token, user.hash))) throw refused();
      this.remember(digest, user.hash);
    }
    // the user may have been removed or rotated while the hash was checked
    const now = this.users().get(user.name);
    if (now?.hash !== user.hash) throw refused();
    return { name: user.name, admin: user.admin, publish: user.publish, subscribe: user.subscribe, hash: user.hash };
  }

  /** Whether a session admitted as `principal` may go on after the users changed. */
  stillValid(principal: Principal): boolean {
    if (principal === EVERYONE) return !this.required;
    if (principal === TOKENLESS || principal.name === ADMIN_TOKEN_USER) return true;
    return this.users().get(principal.name)?.hash === principal.hash;
  }

  /** Tracks an admitted session (`key` is its connection) so that recheck() can end it; `left` forgets it. */
  admitted(key: object, principal: Principal, end: (why: MqraftError) => void): void {
    this.sessions.set(key, { principal, end });
  }

  left(key: object): void {
    this.sessions.delete(key);
  }

  /**
   * Ends every session whose user was removed or given a new token, and every session admitted while auth was off
   * once it is on. Cheap when nothing changed: the node calls it on every tick, so a change applied on this broker
   * takes effect within a tick.
   */
  recheck(): void {
    const users = this.users();
    if (this.seen?.users === users && this.seen.version === users.version) return;
    this.seen = { users, version: users.version };
    for (const [key, { principal, end }] of this.sessions) {
      if (this.stillValid(principal)) continue;
      this.sessions.delete(key);
      end(
        principal === EVERYONE
          ? new MqraftError("UNAUTHENTICATED", "auth is now on in this cluster: connect again with a token")
          : new MqraftError("UNAUTHENTICATED", `user ${principal.name} was removed or given a new token`),
      );
    }
  }

  private isAdminToken(token: string): boolean {
    if (this.adminToken === undefined) return false;
    const given = Buffer.from(token);
    return given.length === this.adminToken.length && timingSafeEqual(given, this.adminToken);
  }

  private async check(token: string, hash: string): Promise<boolean> {
    // a finished check hands its slot to the next waiting one, so that no more than the limit ever run
    if (this.checksRunning >= MAX_CHECKS_AT_ONCE) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.checksRunning++;
    try {
      return await verifyToken(token, hash);
    } finally {
      const next = this.waiting.shift();
      if (next === undefined) this.checksRunning--;
      else next();
    }
  }

  private remember(digest: string, hash: string): void {
    this.remembered.delete(digest);
    if (this.remembered.size >= MAX_REMEMBERED) {
      const oldest = this.remembered.keys().next().value;
      if (oldest !== undefined) this.remembered.delete(oldest);
    }
    this.remembered.set(digest, hash);
  }
}

function refused(): MqraftError {
  return new MqraftError("UNAUTHENTICATED", "the token was not accepted: unknown, removed or rotated");
}
