import { constantTimeEqual } from '../constant-time-equal';
import { EmulatorError } from '../emulator-error';
import { TOKEN_BYTES, type TokenGenerator } from '../token-generator';
import type { VirtualClock } from '../virtual-clock';

/** Input of `createTestUser`. */
export interface TestUserInput {
  /** Login name on the consent page. Letters, digits and `._@+-`, up to 64 characters. */
  readonly username: string;
  /** Login password. Default `"password"`. */
  readonly password?: string;
  /** The People API's `displayName`. Default: the username. */
  readonly displayName?: string;
  /** Existing users (usernames or user ids) to befriend; friendship is mutual. */
  readonly friends?: readonly string[];
}

/** A mixi Voice post. */
export interface VoiceStatus {
  readonly id: string;
  readonly text: string;
  readonly createdAt: number;
}

/** The emulator's record of a test user. */
export interface UserRecord {
  readonly userId: string;
  readonly username: string;
  readonly password: string;
  readonly displayName: string;
  readonly friendIds: string[];
  readonly statuses: VoiceStatus[];
}

/** The JSON view of a test user (no password). */
export interface TestUserView {
  readonly userId: string;
  readonly username: string;
  readonly displayName: string;
  readonly profileUrl: string;
  readonly thumbnailUrl: string;
  readonly friendIds: readonly string[];
}

/** A People API entry. */
export interface PersonEntry {
  readonly id: string;
  readonly displayName: string;
  readonly thumbnailUrl: string;
  readonly profileUrl: string;
}

const USERNAME = /^[A-Za-z0-9._@+-]{1,64}$/;
const THUMBNAIL = 'https://img.mixi.net/img/basic/common/noimage_member180.gif';

/** Test users: who can log in on the consent page, their friends and their Voice posts. */
export class UserDirectory {
  readonly #byId = new Map<string, UserRecord>();
  readonly #byUsername = new Map<string, UserRecord>();
  readonly #clock: VirtualClock;
  readonly #tokens: TokenGenerator;
  #statusSeq = 0;

  constructor(clock: VirtualClock, tokens: TokenGenerator) {
    this.#clock = clock;
    this.#tokens = tokens;
  }

  /** Creates a test user; a username already taken is a `duplicate_user` error. */
  create(input: TestUserInput): UserRecord {
    if (typeof input.username !== 'string' || !USERNAME.test(input.username)) {
      throw new EmulatorError('invalid_input', 'username must be 1–64 letters, digits or ._@+-', { field: 'username' });
    }
    if (this.#byUsername.has(input.username)) {
      throw new EmulatorError('duplicate_user', 'a test user with this username exists', { field: 'username' });
    }
    const password = input.password ?? 'password';
    if (typeof password !== 'string' || password.length === 0 || password.length > 256) {
      throw new EmulatorError('invalid_input', 'password must be 1–256 characters', { field: 'password' });
    }
    const displayName = input.displayName ?? input.username;
    if (typeof displayName !== 'string' || displayName.trim() === '' || displayName.length > 100) {
      throw new EmulatorError('invalid_input', 'displayName must be 1–100 characters', { field: 'displayName' });
    }
    const friends = (input.friends ?? []).map((ref) => this.resolve(ref, 'friends'));
    const record: UserRecord = {
      userId: this.#tokens.unique(TOKEN_BYTES.userId, (v) => this.#byId.has(v)),
      username: input.username,
      password,
      displayName,
      friendIds: [],
      statuses: [],
    };
    this.#byId.set(record.userId, record);
    this.#byUsername.set(record.username, record);
    for (const friend of friends) this.befriend(record, friend);
    return record;
  }

  /** Makes two users friends of each other (idempotent). */
  befriend(a: UserRecord, b: UserRecord): void {
    if (a.userId === b.userId) throw new EmulatorError('invalid_input', 'a user cannot befriend themselves', { field: 'friends' });
    if (!a.friendIds.includes(b.userId)) a.friendIds.push(b.userId);
    if (!b.friendIds.includes(a.userId)) b.friendIds.push(a.userId);
  }

  /** A user by user id or username, or an `unknown_user` error naming `field`. */
  resolve(ref: string, field = 'user'): UserRecord {
    const record = typeof ref === 'string' ? (this.#byId.get(ref) ?? this.#byUsername.get(ref)) : undefined;
    if (!record) throw new EmulatorError('unknown_user', `no test user ${field === 'user' ? 'with this id or username' : `in ${field}`}`, { field });
    return record;
  }

  byId(userId: string): UserRecord | undefined {
    return this.#byId.get(userId);
  }

  byUsername(username: string): UserRecord | undefined {
    return this.#byUsername.get(username);
  }

  /** Every test user, oldest first. */
  list(): UserRecord[] {
    return [...this.#byId.values()];
  }

  /** Checks a login; undefined when the username is unknown or the password is wrong. */
  login(username: string, password: string): UserRecord | undefined {
    const record = this.#byUsername.get(username);
    return record && constantTimeEqual(password, record.password) ? record : undefined;
  }

  /** Posts a Voice status for the user. */
  postStatus(user: UserRecord, text: string): VoiceStatus {
    const status: VoiceStatus = { id: `${user.userId}-${++this.#statusSeq}`, text, createdAt: this.#clock.now() };
    user.statuses.push(status);
    return status;
  }
}

/** The People API entry of a user. */
export function personEntry(user: UserRecord): PersonEntry {
  return { id: user.userId, displayName: user.displayName, thumbnailUrl: THUMBNAIL, profileUrl: profileUrl(user) };
}

/** The JSON view of a test user. */
export function viewUser(user: UserRecord): TestUserView {
  return {
    userId: user.userId,
    username: user.username,
    displayName: user.displayName,
    profileUrl: profileUrl(user),
    thumbnailUrl: THUMBNAIL,
    friendIds: [...user.friendIds],
  };
}

function profileUrl(user: UserRecord): string {
  return `https://mixi.jp/show_friend.pl?id=${user.userId}`;
}
