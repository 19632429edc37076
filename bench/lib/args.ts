/** Shared flag handling for the benchmarks: --help, and integer flags with a clear usage error. */

/** Print HELP and exit 0 when asked; return a parser for integer flags that exits 2 on bad input. */
export function benchFlags(help: string, wantsHelp: boolean | undefined): (name: string, value: string, min: number) => number {
  if (wantsHelp) {
    process.stdout.write(help);
    process.exit(0);
  }
  return (name, value, min) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) {
      process.stderr.write(`--${name}: expected an integer >= ${min}, got ${value}\n${help}`);
      process.exit(2);
    }
    return n;
  };
}

/**
 * Run a benchmark's main with cleanup on every way out: normal end, failure, and SIGINT/SIGTERM
 * (a second signal exits at once). `onFail` adds context before cleanup on failure.
 */
export function runBench(
  main: () => Promise<number>,
  cleanup: () => Promise<void>,
  out: { line(text: string): void; done(): void },
  onFail?: () => void,
): void {
  let cleaning = false;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      if (cleaning) process.exit(sig === 'SIGINT' ? 130 : 143);
      cleaning = true;
      out.line(`\n${sig}: cleaning up`);
      void cleanup().then(() => process.exit(sig === 'SIGINT' ? 130 : 143));
    });
  }
  main().then(
    async (code) => {
      cleaning = true;
      await cleanup();
      process.exit(code);
    },
    async (err: unknown) => {
      cleaning = true;
      out.done();
      out.line(`\nbenchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      onFail?.();
      await cleanup();
      process.exit(1);
    },
  );
}

/** A comma-separated list flag; each item must pass `valid`, else usage error (exit 2). */
export function listFlag(help: string, name: string, value: string, valid: (item: string) => boolean, expected: string): string[] {
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = items.filter((s) => !valid(s));
  if (items.length === 0 || bad.length) {
    process.stderr.write(`--${name}: expected ${expected}, got ${value}\n${help}`);
    process.exit(2);
  }
  return [...new Set(items)];
}
