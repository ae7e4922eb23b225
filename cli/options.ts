import { Option } from 'commander';

/** Output formats of the commands that print data; `text` is for people. */
export type OutputFormat = 'text' | 'json';

export function formatOption(choices: string[] = ['text', 'json']): Option {
  return new Option('--format <format>', 'output format').choices(choices).default('text');
}
