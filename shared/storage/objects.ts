import type { Storage } from '@google-cloud/storage';

/**
 * Text objects in Cloud Storage by gs:// URI, through `@google-cloud/storage`; locally and in
 * tests it talks to a real GCS emulator named as its API endpoint. (STORAGE_EMULATOR_HOST is
 * not used: with it set, version 7 of the library sends downloads where fake-gcs-server has
 * none.) The library loads on first use.
 */

export interface GcsUri {
  readonly bucket: string;
  readonly path: string;
}

export function parseGcsUri(uri: string): GcsUri {
  const match = /^gs:\/\/([a-z0-9][a-z0-9._-]{1,61}[a-z0-9])\/(.+)$/.exec(uri);
  if (!match) throw new RangeError(`not a gs:// object URI: ${uri}`);
  return { bucket: match[1] as string, path: match[2] as string };
}

export class ObjectStore {
  private storage: Promise<Storage> | undefined;

  /** `apiEndpoint`: a GCS emulator's base URL (GCS_API_ENDPOINT); by default Google's. */
  constructor(
    private readonly projectId: string,
    private readonly apiEndpoint?: string,
  ) {}

  private connect(): Promise<Storage> {
    this.storage ??= import('@google-cloud/storage').then(
      ({ Storage: Client }) => new Client({ projectId: this.projectId, ...(this.apiEndpoint ? { apiEndpoint: this.apiEndpoint } : {}) }),
    );
    return this.storage;
  }

  /** Writes `content` at `uri`; the same content again changes nothing a reader sees. */
  async writeText(uri: string, content: string, contentType = 'application/json'): Promise<void> {
    const { bucket, path } = parseGcsUri(uri);
    // Dataset files are small: one request, no resumable session to leave behind on a crash.
    await (await this.connect()).bucket(bucket).file(path).save(content, { resumable: false, contentType });
  }

  /** The object's text, or undefined when there is none. */
  async readText(uri: string): Promise<string | undefined> {
    const { bucket, path } = parseGcsUri(uri);
    try {
      const [data] = await (await this.connect()).bucket(bucket).file(path).download();
      return data.toString('utf8');
    } catch (error) {
      if ((error as { code?: unknown }).code === 404) return undefined;
      throw error;
    }
  }
}
