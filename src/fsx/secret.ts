/**
 * A shared secret (the update webhook's HMAC key, the HTTP server's token, the SMTP password), from an environment
 * variable or a private file. Read once at start (and again on a reload); never part of a message, and remembered for redaction so it
 * is scrubbed wherever it might appear. The variable is taken out of the environment once read:
 * the commands and apps the monitor starts inherit its environment and must not inherit the
 * secret (as the alarm table's password_env, src/alarms/source.ts).
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { HelpdeskError, UnsafePathError } from '../errors.js';
import { octal } from './private-dir.js';
import { rememberSecret } from '../redact.js';

/** Shorter than this, an HMAC key can be guessed; `openssl rand -hex 32` gives 64. */
const MIN_BYTES = 16;
/** A secret file is a line; anything bigger is the wrong file, not a secret. */
const MAX_FILE_BYTES = 64 * 1024;
const HOW = 'make one with `openssl rand -hex 32`';

/** Secrets taken out of the environment, by variable name: a reload reads the same variable again. */
const taken = new Map<string, Buffer>();

/**
 * The secret as bytes, one trailing newline (the editor's) removed. Throws, naming the source and
 * never the value, when it is missing, empty, shorter than `minBytes` (16: a key we ask people to
 * generate; a password someone else chose, such as an SMTP relay's, passes 1), or in a file that others can
 * read or write (UnsafePathError: `run chmod 600 <file>`).
 */
export function readSecret(source: { env?: string; file?: string }, env: NodeJS.ProcessEnv = process.env, what = 'the update webhook secret', minBytes = MIN_BYTES): Buffer {
  if (source.env !== undefined && source.file !== undefined) {
    throw new HelpdeskError(`${what}: give an environment variable or a file, not both`);
  }
  let value: Buffer;
  let where: string;
  if (source.env !== undefined) {
    where = `environment variable ${source.env}`;
    value = fromEnv(source.env, env, what);
  } else if (source.file !== undefined) {
    where = `file ${source.file}`;
    value = fromFile(source.file, what);
  } else {
    throw new HelpdeskError(`${what}: name the environment variable or the file that holds it`);
  }
  value = withoutNewline(value);
  if (value.length === 0) throw new HelpdeskError(`${what} in the ${where} is empty: ${HOW}`);
  if (value.length < minBytes) {
    throw new HelpdeskError(`${what} in the ${where} is ${value.length} bytes, fewer than the ${minBytes} needed: ${HOW}`);
  }
  rememberSecret(value.toString('utf8'));
  return value;
}

function fromEnv(name: string, env: NodeJS.ProcessEnv, what: string): Buffer {
  const value = env[name];
  if (value !== undefined) {
    taken.set(name, Buffer.from(value, 'utf8'));
    delete env[name];
  }
  const found = taken.get(name);
  if (found === undefined) throw new HelpdeskError(`${what}: the environment variable ${name} is not set`);
  return Buffer.from(found);
}

/** Read without following a link; only a regular file that no one else may read or write. */
function fromFile(path: string, what: string): Buffer {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new UnsafePathError(path, `${what} file ${path} is a symbolic link: name the file itself`);
    throw new HelpdeskError(`${what} file ${path} cannot be read (${code ?? String(err)})`, { cause: err });
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new UnsafePathError(path, `${what} file ${path} is not a regular file`);
    const mode = st.mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new UnsafePathError(path, `${what} file ${path} is open to others (mode ${octal(mode)}): run chmod 600 ${path}`);
    }
    if (st.size > MAX_FILE_BYTES) throw new HelpdeskError(`${what} file ${path} is ${st.size} bytes: expected one line`);
    const buf = Buffer.alloc(MAX_FILE_BYTES + 1);
    let total = 0;
    for (;;) {
      const n = readSync(fd, buf, total, buf.length - total, null);
      if (n === 0) break;
      total += n;
      if (total > MAX_FILE_BYTES) throw new HelpdeskError(`${what} file ${path} grew past ${MAX_FILE_BYTES} bytes: expected one line`);
    }
    const secret = Buffer.from(buf.subarray(0, total));
    buf.fill(0);
    return secret;
  } finally {
    closeSync(fd);
  }
}

/** Drop one trailing `\n` or `\r\n`. */
function withoutNewline(value: Buffer): Buffer {
  let end = value.length;
  if (end > 0 && value[end - 1] === 0x0a) {
    end -= 1;
    if (end > 0 && value[end - 1] === 0x0d) end -= 1;
  }
  return value.subarray(0, end);
}
