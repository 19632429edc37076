/**
 * Output for a person: on a TTY one status line redrawn in place (cleared before any other
 * line is printed), elsewhere plain lines every few seconds.
 */
export class Output {
  private status: string | undefined;
  private lastPlain = 0;
  readonly tty: boolean;

  constructor(private readonly stream: NodeJS.WriteStream = process.stdout) {
    this.tty = stream.isTTY === true;
  }

  /** Print a full line (keeps the status line below it on a TTY). */
  line(text = ''): void {
    if (this.tty && this.status !== undefined) this.stream.write('\r\x1b[K');
    this.stream.write(`${text}\n`);
    if (this.tty && this.status !== undefined) this.stream.write(this.status);
  }

  /** Show or update the waiting status; non-TTY output gets a plain line at most every `everyMs`. */
  progress(text: string, everyMs = 2000): void {
    if (this.tty) {
      const width = Math.max(20, (this.stream.columns || 100) - 1);
      this.status = text.length > width ? text.slice(0, width) : text;
      this.stream.write(`\r\x1b[K${this.status}`);
      return;
    }
    const now = performance.now();
    if (now - this.lastPlain >= everyMs) {
      this.lastPlain = now;
      this.stream.write(`${text}\n`);
    }
  }

  /** Remove the status line. */
  done(): void {
    if (this.tty && this.status !== undefined) this.stream.write('\r\x1b[K');
    this.status = undefined;
    this.lastPlain = 0;
  }
}
