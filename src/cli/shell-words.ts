// Arguments written back as a POSIX shell reads them, for the commands etcd-xds prints for people to run again.

/** One argument: as it is when the shell leaves it alone, else in single quotes. */
export function shellWord(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Arguments joined into the line a person would type. */
export function shellLine(args: readonly string[]): string {
  return args.map(shellWord).join(' ');
}
