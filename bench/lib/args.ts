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
