import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { regularizedBeta, tCdf, tQuantile } from '../src/domain/t-distribution.js';

/** `actual` agrees with `expected` (given to 6 significant digits) when rounded to 6 significant digits. */
function sixDigits(actual: number, expected: number, what: string): void {
  assert.equal(Number(actual.toPrecision(6)), expected, `${what}: ${actual} should read ${expected} to 6 significant digits`);
}

function close(actual: number, expected: number, relative: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= relative * Math.abs(expected), `${what}: ${actual} vs ${expected}`);
}

describe('t-distribution', () => {
  it('quantiles match the standard t-table to 6 significant digits', () => {
    // Critical values t_{p,df} as printed in standard t-tables, 6 significant digits.
    const table: [p: number, df: number, t: number][] = [
      [0.975, 1, 12.7062],
      [0.975, 2, 4.30265],
      [0.975, 5, 2.57058],
      [0.975, 10, 2.22814],
      [0.975, 30, 2.04227],
      [0.975, 120, 1.97993],
      [0.975, 1000, 1.96234],
      [0.995, 30, 2.75],
      [0.95, 1, 6.31375],
      [0.95, 10, 1.81246],
      [0.99, 20, 2.52798],
      [0.995, 1, 63.6567],
      [0.9995, 5, 6.86883],
    ];
    for (const [p, df, t] of table) {
      sixDigits(tQuantile(p, df), t, `t_{${p},${df}}`);
      sixDigits(tQuantile(1 - p, df), -t, `t_{${1 - p},${df}}`);
      close(tCdf(t, df), p, 1e-5, `cdf(${t}, ${df})`);
    }
    // t_{0.995,30} = 2.749995654...: the table's 2.75000 rounds it; one digit more tells a wrong df apart.
    close(tQuantile(0.995, 30), 2.749995654, 1e-9, 't_{0.995,30}');
  });

  it('CDFs match closed forms at 1, 2 and 3 degrees of freedom', () => {
    for (const t of [-30, -4, -1, -0.3, 0, 0.5, 1, 2, 7.5, 100]) {
      close(tCdf(t, 1), 0.5 + Math.atan(t) / Math.PI, 1e-12, `cdf(${t}, 1)`);
      close(tCdf(t, 2), 0.5 + t / (2 * Math.sqrt(2 + t * t)), 1e-12, `cdf(${t}, 2)`);
      const u = t / Math.sqrt(3);
      close(tCdf(t, 3), 0.5 + (u / (1 + u * u) + Math.atan(u)) / Math.PI, 1e-12, `cdf(${t}, 3)`);
    }
  });

  it('CDFs at fractional (Welch) degrees of freedom match reference values', () => {
    // Reference: mpmath at 30 digits, I_x(df/2, 1/2) by betainc, each confirmed by integrating the
    // density numerically.
    const reference: [t: number, df: number, p: number][] = [
      [2.0, 2.5, 0.921304252121017],
      [-1.3, 7.3, 0.116570775033083],
      [0.7, 0.6, 0.667730963900732],
      [3.1, 13.42, 0.99591251400575],
      [-2.2, 45.8, 0.0164456265674681],
      [1.96, 1e6, 0.975001966207365],
      [-4.5, 3.7, 0.00646369085579589],
      [12.0, 1.5, 0.990978985362986],
      [0.25, 150.5, 0.598535862755979],
    ];
    for (const [t, df, p] of reference) {
      close(tCdf(t, df), p, 1e-9, `cdf(${t}, ${df})`);
      close(tQuantile(p, df), t, 1e-7, `quantile(${p}, ${df})`);
    }
  });

  it('quantile inverts the CDF across df and tails', () => {
    for (const df of [0.8, 1, 1.7, 4, 9.25, 33.3, 500, 2e6]) {
      for (const p of [1e-9, 0.001, 0.025, 0.3, 0.5, 0.7, 0.975, 0.999, 1 - 1e-9]) {
        const t = tQuantile(p, df);
        close(tCdf(t, df), p, 1e-9, `cdf(quantile(${p}, ${df}))`);
      }
    }
  });

  it('edges: infinities, p of 0 and 1, invalid arguments', () => {
    assert.equal(tCdf(Infinity, 5), 1);
    assert.equal(tCdf(-Infinity, 5), 0);
    assert.equal(tCdf(0, 5), 0.5);
    assert.equal(tQuantile(0, 5), -Infinity);
    assert.equal(tQuantile(1, 5), Infinity);
    assert.equal(tQuantile(0.5, 5), 0);
    assert.ok(Number.isNaN(tCdf(1, 0)));
    assert.ok(Number.isNaN(tQuantile(1.2, 5)));
    assert.ok(Number.isNaN(regularizedBeta(0.5, -1, 1)));
    close(regularizedBeta(0.25, 1, 1), 0.25, 1e-14, 'I_0.25(1, 1)');
  });
});
