/**
 * The only URIs a Recorder or Player accepts: absolute `file://` URIs, inside ENGINE_FILE_ROOT when
 * that is set. Anything else (http, s3, relative paths, traversal out of the root) is refused clearly.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KurentoError } from '../protocol/KurentoError.js';

export function filePathOf(uri: string, fileRoot: string | undefined): string {
  let parsed: URL;
  try {
    parsed = new URL(uri);
  } catch {
    throw refused(uri, 'it is not an absolute URI');
  }
  if (parsed.protocol !== 'file:')
    throw refused(uri, `the ${parsed.protocol.replace(':', '')} scheme is not supported, only file://`);
  if (parsed.host !== '' && parsed.host !== 'localhost')
    throw refused(uri, 'file URIs must name a local path (file:///...)');
  const filePath = path.normalize(fileURLToPath(parsed));
  if (fileRoot) {
    const root = path.resolve(fileRoot);
    if (filePath !== root && !filePath.startsWith(root + path.sep)) throw refused(uri, `it is outside ${root}`);
  }
  return filePath;
}

function refused(uri: string, why: string): KurentoError {
  return new KurentoError('MEDIA_OBJECT_ILLEGAL_PARAM_ERROR', `URI '${uri.slice(0, 200)}' refused: ${why}`);
}
