import { describe, expect, it } from 'vitest';
import { type MachineFacts, VENV_BYTES, missingPrerequisites, preflightReport, versionIn } from '../../../scripts/lib/preflight.js';

/** A machine with everything the README lists. */
const READY: MachineFacts = {
  node: 'v20.20.2',
  java: 'openjdk version "17.0.15" 2025-04-15\nOpenJDK Runtime Environment',
  go: 'go version go1.26.8 linux/amd64',
  python: 'Python 3.11.7',
  gcloudComponents: { 'Google Cloud SDK': '528.0.0', beta: '2025.06.20', 'cloud-firestore-emulator': '1.19.9', 'pubsub-emulator': '0.8.20' },
  freeBytes: 80 * 1024 ** 3,
  venvReady: false,
  builtGoTools: [],
  nodeModulesReady: true,
};

describe('preflight', () => {
  it('reads the versions the tools print', () => {
    expect(versionIn(READY.java, /version "(\d+)(?:\.(\d+))?/)).toEqual([17, 0]);
    expect(versionIn('openjdk version "1.8.0_392"', /version "(\d+)(?:\.(\d+))?/)).toEqual([1, 8]);
    expect(versionIn(READY.go, /go(\d+)\.(\d+)/)).toEqual([1, 26]);
    expect(versionIn(READY.python, /Python (\d+)\.(\d+)/)).toEqual([3, 11]);
    expect(versionIn(undefined, /go(\d+)\.(\d+)/)).toBeUndefined();
  });

  it('finds nothing missing on a machine of the README', () => {
    expect(missingPrerequisites(READY, 'test')).toEqual([]);
    expect(missingPrerequisites(READY, 'start')).toEqual([]);
  });

  it('names every missing piece at once, each with the command that installs it', () => {
    const bare: MachineFacts = { ...READY, node: 'v18.19.0', java: undefined, go: 'go version go1.19.8 linux/amd64', python: 'Python 3.9.2', gcloudComponents: { beta: 'x' }, freeBytes: 2 * 1024 ** 3, nodeModulesReady: false };
    const missing = missingPrerequisites(bare, 'test');
    expect(missing.map((m) => m.what)).toEqual([
      'Node.js 20 or later (this is v18.19.0)',
      'the npm packages',
      'Java 17 or later (the emulators run on it)',
      "gcloud's cloud-firestore-emulator component",
      "gcloud's pubsub-emulator component",
      'Go 1.22 or later (builds fake-gcs-server and promtool once, from the Go module proxy)',
      "Python 3.11 or later (the containers' tests; SAPPHIRE_PYTHON names another interpreter)",
      '5 GB free for containers/.venv (2.0 GB free)',
    ]);
    expect(missing.find((m) => m.what === 'the npm packages')?.install).toBe('npm ci');
    expect(missing.find((m) => m.what.startsWith('Java'))?.install).toBe('apt-get install openjdk-17-jre-headless');
    const report = preflightReport(missing, 'test');
    expect(report.split('\n')[0]).toBe('npm test cannot run on this machine yet; missing:');
    expect(report).toContain('      gcloud components install pubsub-emulator (or apt-get install google-cloud-cli-pubsub-emulator)');
  });

  it('asks npm start only for what the stack runs: no Python, no venv space, no promtool', () => {
    const facts: MachineFacts = { ...READY, python: undefined, freeBytes: 0, go: undefined, builtGoTools: ['fake-gcs-server'] };
    expect(missingPrerequisites(facts, 'start')).toEqual([]);
    expect(missingPrerequisites(facts, 'test').map((m) => m.what)).toEqual([
      'Go 1.22 or later (builds promtool once, from the Go module proxy)',
      "Python 3.11 or later (the containers' tests; SAPPHIRE_PYTHON names another interpreter)",
      '5 GB free for containers/.venv (0.0 GB free)',
    ]);
  });

  it('needs neither Go nor disk space again once the tools and the venv exist', () => {
    const facts: MachineFacts = { ...READY, go: undefined, freeBytes: VENV_BYTES - 1, venvReady: true, builtGoTools: ['fake-gcs-server', 'promtool'] };
    expect(missingPrerequisites(facts, 'test')).toEqual([]);
  });

  it('refuses a gcloud without the emulators and says which package brings each', () => {
    const missing = missingPrerequisites({ ...READY, gcloudComponents: undefined }, 'start');
    expect(missing).toEqual([{ what: 'the gcloud CLI', install: 'install the Google Cloud CLI: https://cloud.google.com/sdk/docs/install' }]);
  });
});
