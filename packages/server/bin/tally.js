#!/usr/bin/env node
// The compiled CLI; `npm install` at the repository root builds it (the root "prepare" script).
import '../dist/cli.js';
