/*
 * Imports every adapter for its registration side effect. Keep one line per adapter.
 */
import { registerAnalyzer } from './registry.js';
import { banditAnalyzer } from './bandit.js';
import { gccAnalyzer } from './gcc.js';
import { cppcheckAnalyzer } from './cppcheck.js';
import { clangAnalyzer } from './clang.js';
import { eslintAnalyzer } from './eslint.js';
import { codeqlAnalyzer } from './codeql.js';
import { builtinAnalyzer } from './builtin.js';

registerAnalyzer(builtinAnalyzer);
registerAnalyzer(banditAnalyzer);
registerAnalyzer(gccAnalyzer);
registerAnalyzer(cppcheckAnalyzer);
registerAnalyzer(clangAnalyzer);
registerAnalyzer(eslintAnalyzer);
registerAnalyzer(codeqlAnalyzer);
