// Just enough of the Postgres wire protocol to run one statement on a trust-authenticated server, so no client binary is needed.

import { connect } from 'node:net';

export interface WireTarget {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly database: string;
}

/** An ErrorResponse from the server. */
export class ServerError extends Error {
  constructor(
    message: string,
    /** SQLSTATE, e.g. 57P03 (the database system is starting up). */
    readonly code: string,
  ) {
    super(message);
    this.name = 'ServerError';
  }
}

const PROTOCOL_3_0 = 196608;

/** Connects, runs `sql` with the simple query protocol and disconnects. Rejects with ServerError when the server says no. */
export function runStatement(target: WireTarget, sql: string, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: target.host, port: target.port });
    let pending = Buffer.alloc(0);
    let querySent = false;
    let serverError: ServerError | undefined;
    let settled = false;
    const settle = (error: Error | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) {
        socket.destroy();
        reject(error);
      } else {
        socket.end(message('X', Buffer.alloc(0)));
        resolve();
      }
    };
    const timer = setTimeout(
      () => settle(new Error(`Postgres at ${target.host}:${target.port} did not answer within ${timeoutMs} ms`)),
      timeoutMs,
    );

    socket.on('connect', () => socket.write(startupMessage(target)));
    socket.on('error', (error) => settle(error));
    socket.on('close', () => settle(serverError ?? new Error('the server closed the connection before the statement completed')));
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 5) {
        const length = pending.readInt32BE(1);
        if (pending.length < 1 + length) break;
        const type = String.fromCharCode(pending[0]!);
        const body = pending.subarray(5, 1 + length);
        pending = pending.subarray(1 + length);
        switch (type) {
          case 'R': {
            const method = body.readInt32BE(0);
            if (method !== 0) settle(new Error(`the server asks for a password (authentication method ${method}); expected trust`));
            break;
          }
          case 'E':
            serverError = parseError(body);
            break;
          case 'Z':
            // ReadyForQuery: once after the startup, once after our statement.
            if (!querySent && !serverError) {
              querySent = true;
              socket.write(message('Q', Buffer.from(`${sql}\0`, 'utf8')));
            } else {
              settle(serverError);
            }
            break;
          default:
            // ParameterStatus, BackendKeyData, CommandComplete, NoticeResponse...: nothing to do.
            break;
        }
      }
    });
  });
}

function startupMessage(target: WireTarget): Buffer {
  const parameters = Buffer.from(`user\0${target.user}\0database\0${target.database}\0\0`, 'utf8');
  const header = Buffer.alloc(8);
  header.writeInt32BE(8 + parameters.length, 0);
  header.writeInt32BE(PROTOCOL_3_0, 4);
  return Buffer.concat([header, parameters]);
}

function message(type: string, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0, 'latin1');
  header.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([header, body]);
}

function parseError(body: Buffer): ServerError {
  const fields = new Map<string, string>();
  let offset = 0;
  while (offset < body.length && body[offset] !== 0) {
    const code = String.fromCharCode(body[offset]!);
    const end = body.indexOf(0, offset + 1);
    fields.set(code, body.toString('utf8', offset + 1, end));
    offset = end + 1;
  }
  return new ServerError(fields.get('M') ?? 'unknown error', fields.get('C') ?? '');
}
