import type * as Amqp from 'amqplib';
import diagnostics from 'node:diagnostics_channel';
import net from 'node:net';
import type { CheckDefinition } from '../health/types';
import type { CheckOptions, CheckResult } from '../types';
import { addSecretsFromUrl, redact } from '../util/redact';
import { INTERNAL_CLIENT_NAME, lazyDriver } from './load-driver';
import { bounded, CLOSE_GRACE_MS, connectionRun, FALLBACK_TIMEOUT_MS, hostOf, timed, unref } from './run-bounded';

export interface AmqpCheckOptions extends CheckOptions {
  name?: string;
  /** `amqp://user:password@host:port/vhost` or `amqps://...`; the password is masked in all output. */
  url: string;
  /** Queue to watch; without one the check only proves the broker answers on a channel. */
  queue?: string;
  /** More messages than this waiting in `queue` is a warning. */
  maxDepth?: number;
  /** A `queue` with no consumer is a warning: nothing is draining it. */
  requireConsumer?: boolean;
}

// Every AMQP 0-9-1 broker declares amq.direct in every vhost, so a passive declare of it is a
// side-effect-free round trip.
const PROBE_EXCHANGE = 'amq.direct';

/**
 * RabbitMQ health: one kept connection and channel; with a queue, its depth and consumers.
 * The broker closes a channel on any channel error (a missing queue is a 404), so a closed
 * channel or connection is forgotten and reopened on the next run.
 */
export function createAmqpCheck(config: AmqpCheckOptions): CheckDefinition {
  const { name = 'rabbitmq', url, queue, maxDepth = 1000, requireConsumer = true, ...options } = config;
  addSecretsFromUrl(url);
  const amqplib = lazyDriver<typeof Amqp>('amqplib');
  const limit = options.timeoutMs ?? FALLBACK_TIMEOUT_MS;
  const target = `RabbitMQ at ${hostOf(url, url.startsWith('amqps:') ? 5671 : 5672)}`;
  const componentType = options.componentType ?? 'datastore';

  interface Session {
    model: Amqp.ChannelModel;
    channel?: Amqp.Channel;
  }
  let session: Session | undefined;
  // Bumped whenever the session is let go: a connection that completes after its run was
  // abandoned is closed at once instead of lingering.
  let generation = 0;
  // The socket of the connection being opened, until amqplib hands the connection over: a run
  // abandoned mid-handshake destroys it rather than leave it to amqplib's own (long) timeout.
  let opening: net.Socket | undefined;

  function forget(): Amqp.ChannelModel | undefined {
    generation += 1;
    // With an error, so that amqplib's pending connect rejects instead of waiting forever.
    opening?.destroy(new Error('connection abandoned'));
    opening = undefined;
    const last = session?.model;
    session = undefined;
    return last;
  }

  function drop(): void {
    const last = forget();
    if (last) destroy(last);
  }

  async function open(): Promise<Session> {
    const started = generation;
    const { socket, connecting } = connect(amqplib(), withoutHeartbeat(url), {
      // `timeout` bounds the TCP connect and the AMQP handshake; amqplib clears it once open.
      timeout: limit,
      clientProperties: { connection_name: INTERNAL_CLIENT_NAME },
    });
    if (socket) {
      // Abandoned, the socket is destroyed with an error that amqplib already reports.
      socket.on('error', () => undefined);
      opening = socket;
    }
    let model: Amqp.ChannelModel;
    try {
      model = await connecting;
    } finally {
      if (opening === socket) opening = undefined;
    }
    model.on('error', () => undefined);
    model.on('close', () => {
      if (session?.model === model) drop();
    });
    unref(socketOf(model));
    if (started !== generation) {
      destroy(model);
      throw new Error('connection abandoned');
    }
    session = { model };
    return session;
  }

  async function openChannel(current: Session): Promise<Amqp.Channel> {
    const channel = await current.model.createChannel();
    // The broker's reason reaches the pending call's rejection; the event only repeats it.
    channel.on('error', () => undefined);
    channel.on('close', () => {
      if (current.channel === channel) current.channel = undefined;
    });
    return channel;
  }

  async function connected(): Promise<Required<Session>> {
    const current = session ?? (await open());
    const channel = (current.channel ??= await openChannel(current));
    return { model: current.model, channel };
  }

  async function run(): Promise<CheckResult> {
    const { model, channel: ch } = await connected();
    const serverVersion = model.connection.serverProperties.version;
    const version: Record<string, string> = serverVersion ? { serverVersion } : {};
    if (queue === undefined) {
      const { ms } = await timed(() => ch.checkExchange(PROBE_EXCHANGE));
      return { status: 'pass', observedValue: ms, observedUnit: 'ms', componentType, details: version };
    }
    const { messageCount, consumerCount } = await ch.checkQueue(queue);
    const problems = [
      ...(messageCount > maxDepth ? [`${messageCount} messages waiting (more than ${maxDepth})`] : []),
      ...(requireConsumer && consumerCount === 0 ? ['no consumer'] : []),
    ];
    return {
      status: problems.length > 0 ? 'warn' : 'pass',
      observedValue: messageCount,
      observedUnit: 'messages',
      componentType,
      ...(problems.length > 0 ? { output: redact(`queue "${queue}": ${problems.join(', ')}`) } : {}),
      details: { ...version, queue, consumers: consumerCount },
    };
  }

  return {
    name,
    options,
    // A failed run keeps what is still open: a closed channel or connection forgets itself.
    fn: connectionRun(target, drop, run, false),
    close: async () => {
      const last = forget();
      if (!last) return;
      // connection.close waits for the broker's close-ok; a silent broker gets the socket destroyed.
      await bounded(AbortSignal.timeout(CLOSE_GRACE_MS), target, () => destroy(last), () => last.close()).catch(
        () => destroy(last),
      );
    },
  };
}

// amqplib's heartbeat timers are not unref'd and would hold the process open; the check's own
// runs already detect a dead connection (a hung call is aborted and the connection dropped).
// A heartbeat set explicitly in the URL is left as the user chose it.
function withoutHeartbeat(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.searchParams.has('heartbeat')) return url;
    parsed.searchParams.set('heartbeat', '0');
    return parsed.href;
  } catch {
    return url;
  }
}

/**
 * amqplib's connect, with the TCP socket under it unref'd from the start and returned: amqplib
 * keeps its socket to itself until the handshake is done, and a ref'd socket would hold a finished
 * program while a broker (or a TLS server) never answers. Nothing is patched: the application's
 * own amqplib connections are left as they are.
 */
function connect(driver: typeof Amqp, url: string, options: Record<string, unknown>): { socket?: net.Socket; connecting: Promise<Amqp.ChannelModel> } {
  const tcp = tlsTransport(url);
  if (tcp) {
    // amqps: amqplib hands its options to tls.connect, which runs TLS over a given `socket`
    // instead of connecting one of its own (amqplib still sets host and servername, for the
    // certificate check). The TLS socket shares this socket's handle: unref'd, it holds nothing.
    tcp.unref();
    return { socket: tcp, connecting: driver.connect(url, { ...options, socket: tcp }) };
  }
  // amqp: amqplib calls net.connect, which announces its socket synchronously on this channel,
  // so the only socket seen is amqplib's, created within the call.
  const made: net.Socket[] = [];
  const seen = (message: unknown): void => {
    made.push((message as { socket: net.Socket }).socket);
  };
  let connecting: Promise<Amqp.ChannelModel>;
  diagnostics.subscribe('net.client.socket', seen);
  try {
    connecting = driver.connect(url, options);
  } finally {
    diagnostics.unsubscribe('net.client.socket', seen);
  }
  // Until its handle exists, net defers the unref to 'connect'; a pending connect holds the loop anyway.
  const socket = made[0];
  socket?.unref();
  return socket ? { socket, connecting } : { connecting };
}

/** For an `amqps:` URL, a TCP connection to its host and port as amqplib would reach them; otherwise none. */
function tlsTransport(url: string): net.Socket | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== 'amqps:') return undefined;
  return net.connect({ host: parsed.hostname.replace(/^\[|\]$/g, ''), port: Number.parseInt(parsed.port, 10) || 5671 });
}

// amqplib 2 keeps the socket as `connection.stream` (its own Connection object, not typed).
function socketOf(model: Amqp.ChannelModel): { destroy(): void } | undefined {
  return (model.connection as unknown as { stream?: { destroy(): void } }).stream;
}

function destroy(model: Amqp.ChannelModel): void {
  socketOf(model)?.destroy();
}
