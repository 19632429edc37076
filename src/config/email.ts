/**
 * A `notify:` entry with `format: email`: the same events as a webhook, sent through an SMTP relay
 * (nodemailer). The password never lives in the config: an environment variable (default
 * HELPDESK_MONITOR_SMTP_PASSWORD) or a chmod 600 file names it, as for the alarm table's password.
 * A password is only ever sent over TLS (implicit, or STARTTLS required) unless the relay is on
 * loopback, where `security: none` is the plain local MTA.
 */
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { passwordFile, refusedPassword } from './alarms.js';
import { durationIn } from './duration-schema.js';
import { isLoopback } from './http.js';
import { envName } from './update.js';

export const DEFAULT_SMTP_PASSWORD_ENV = 'HELPDESK_MONITOR_SMTP_PASSWORD';

/** `tls`: TLS from the first byte (port 465); `starttls`: plain, then STARTTLS, required (587); `none`: plain (a loopback relay). */
export type SmtpSecurity = 'tls' | 'starttls' | 'none';

export type SecretSource = { readonly kind: 'env'; readonly name: string } | { readonly kind: 'file'; readonly path: string };

export interface SmtpConfig {
  readonly host: string;
  readonly port: number;
  readonly security: SmtpSecurity;
  /** Absent: no AUTH. */
  readonly user?: string;
  /** Where the password is read from (only with a user). */
  readonly password?: SecretSource;
  /** A PEM CA to trust instead of the system's (a private relay's own CA). */
  readonly caFile?: string;
}

export interface EmailTargetConfig {
  readonly format: 'email';
  readonly smtp: SmtpConfig;
  readonly from: string;
  readonly to: readonly string[];
  /** Hard deadline of one delivery: connect, greeting, TLS, AUTH and the message. */
  readonly timeoutMs: number;
}

/**
 * A plain address (`ops@example.com`): no display name, no comments, nothing that could end a
 * header line. What an SMTP relay accepts as a mailbox, kept simple enough to read.
 */
const ADDRESS = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const ADDRESS_HINT = 'expected an email address like ops@example.com';
export const isAddress = (s: string): boolean => s.length <= 254 && ADDRESS.test(s);
const address = z.string({ error: ADDRESS_HINT }).refine(isAddress, ADDRESS_HINT);

const HOST_HINT = 'expected the SMTP relay\'s host name or address, e.g. smtp.example.com';
const PORT_HINT = 'expected a port: an integer 1-65535';

/** The keys of an email entry; `events` and `format` are shared with webhooks (schema.ts). */
export function emailEntrySchema<E extends z.ZodType>(events: E) {
  return z
    .strictObject({
      format: z.literal('email'),
      host: z.string({ error: HOST_HINT }).regex(/^[A-Za-z0-9._:[\]-]+$/, HOST_HINT),
      port: z.number({ error: PORT_HINT }).int(PORT_HINT).min(1, PORT_HINT).max(65535, PORT_HINT).optional(),
      security: z.enum(['starttls', 'tls', 'none'], { error: 'expected starttls (port 587, the default), tls (port 465) or none (a loopback relay only)' }).default('starttls'),
      user: z.string({ error: 'expected the SMTP user name' }).min(1).max(256).optional(),
      password_env: envName.optional(),
      password_file: passwordFile.optional(),
      password: refusedPassword(DEFAULT_SMTP_PASSWORD_ENV).optional(),
      ca_file: z.string({ error: 'expected the absolute path of a PEM CA certificate' }).refine(isAbsolute, 'expected the absolute path of a PEM CA certificate').optional(),
      from: address,
      to: z.union([address, z.array(address).min(1, 'expected at least one address').max(50, 'expected at most 50 addresses')], { error: `${ADDRESS_HINT}, or a list of them` }),
      events,
      timeout: durationIn(1000, 300_000, 'an SMTP timeout').default(30_000),
    })
    .superRefine((e, ctx) => {
      if (e.password_env !== undefined && e.password_file !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['password_file'], input: e.password_file, message: 'give password_env or password_file, not both' });
      }
      if (e.user === undefined && (e.password_env !== undefined || e.password_file !== undefined)) {
        ctx.addIssue({ code: 'custom', path: ['user'], input: undefined, message: 'a password needs the user it belongs to: set user' });
      }
      if (e.security === 'none' && e.user !== undefined && !isLoopback(e.host)) {
        ctx.addIssue({
          code: 'custom', path: ['security'], input: e.security,
          message: `expected starttls or tls: security none would send the password to ${e.host} in clear text (none is for a relay on loopback)`,
        });
      }
    });
}

/** Key names, for "did you mean". */
export const EMAIL_KEYS: readonly string[] = ['host', 'port', 'security', 'user', 'password_env', 'password_file', 'ca_file', 'from', 'to'];

export const DEFAULT_SMTP_PORT: Readonly<Record<SmtpSecurity, number>> = { tls: 465, starttls: 587, none: 25 };

type RawEmail = Omit<z.output<ReturnType<typeof emailEntrySchema>>, 'events'>;

/** The typed entry, but its events (typed where the event list lives, schema.ts). */
export function toEmailTargetConfig(e: RawEmail): EmailTargetConfig {
  const password: SecretSource | undefined =
    e.user === undefined ? undefined : e.password_file !== undefined ? { kind: 'file', path: e.password_file } : { kind: 'env', name: e.password_env ?? DEFAULT_SMTP_PASSWORD_ENV };
  return {
    format: 'email',
    smtp: {
      host: e.host,
      port: e.port ?? DEFAULT_SMTP_PORT[e.security],
      security: e.security,
      ...(e.user === undefined ? {} : { user: e.user }),
      ...(password ? { password } : {}),
      ...(e.ca_file === undefined ? {} : { caFile: e.ca_file }),
    },
    from: e.from,
    to: Array.isArray(e.to) ? e.to : [e.to],
    timeoutMs: e.timeout,
  };
}
