import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkDeploy } from '../../../scripts/deploy.js';

/** npm run deploy checks what a deploy needs first, and names everything missing in one message. */

const emptyHome = () => mkdtempSync(join(tmpdir(), 'sapphire-deploy-'));

describe('npm run deploy', () => {
  it('without credentials stops with one clear message naming them', () => {
    const home = emptyHome();
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home, CLOUDSDK_CONFIG: join(home, 'gcloud'), GOOGLE_CLOUD_PROJECT: 'sapphire-deploy-test', TF_VAR_secret_values: JSON.stringify({ SIGNAL_INTAKE_TOKENS: 'x'.repeat(16), OPS_API_TOKENS: `a:${'y'.repeat(16)}` }) };
    const run = spawnSync('npm', ['run', '--silent', 'deploy', '--', '--plan'], { env, encoding: 'utf8', timeout: 60_000 });
    expect(run.status).toBe(2);
    // Nothing else was wrong (terraform aside, where a machine lacks it), so nothing else is named.
    const lines = run.stderr.trim().split('\n').filter((line) => !line.includes('terraform is not installed'));
    expect(lines).toEqual(['npm run deploy cannot start:', expect.stringMatching(/^ {2}- no Google Cloud credentials: run `gcloud auth application-default login`/)]);
    expect(run.stdout).not.toMatch(/terraform|built/);
  }, 60_000);

  it('names a missing project, credentials and secrets together', () => {
    const home = emptyHome();
    const { missing } = checkDeploy(['--plan'], { PATH: process.env.PATH, HOME: home, CLOUDSDK_CONFIG: join(home, 'gcloud') });
    expect(missing.join('\n')).toMatch(/no project/);
    expect(missing.join('\n')).toMatch(/no Google Cloud credentials/);
    expect(missing.join('\n')).toMatch(/no value for the secrets SIGNAL_INTAKE_TOKENS, OPS_API_TOKENS/);
  });

  it('is satisfied by a project, a credentials file and the required secrets', () => {
    const { missing, project } = checkDeploy(['--project', 'sapphire-deploy-test'], {
      PATH: process.env.PATH,
      GOOGLE_APPLICATION_CREDENTIALS: join(process.cwd(), 'package.json'),
      TF_VAR_secret_values: JSON.stringify({ SIGNAL_INTAKE_TOKENS: 't', OPS_API_TOKENS: 'o' }),
    });
    // terraform is installed on the CI machine kind; where it is not, that is the one thing named.
    expect(missing.filter((m) => !m.startsWith('terraform is not installed'))).toEqual([]);
    expect(project).toBe('sapphire-deploy-test');
  });
});
