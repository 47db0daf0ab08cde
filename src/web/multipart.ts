/**
 * Fastify's multipart parts as the upload service's parts, with the parser's file size limit set to
 * the FTPS cap of the moment (the parser then cuts the file at the cap and reads the rest away), and
 * the service's refusals as HTTP answers.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { UploadRefused, type UploadPart } from '../services/uploads';
import type { WebContext } from './context';

export async function* multipartParts(req: FastifyRequest, maxBytes: number): AsyncGenerator<UploadPart> {
  if (!req.isMultipart()) throw new UploadRefused(400, 'not_multipart', 'the upload must be sent as multipart/form-data, with the zip in the field "file"');
  try {
    // preservePath: the name as sent, so that a name with path parts is refused rather than quietly cut to its last part
    for await (const part of req.parts({ limits: { fileSize: maxBytes, files: 1 }, preservePath: true })) {
      if (part.type === 'file') {
        const file = part.file;
        yield { kind: 'file', name: part.fieldname, fileName: part.filename, stream: file, truncated: () => file.truncated };
      } else {
        yield { kind: 'field', name: part.fieldname, value: typeof part.value === 'string' ? part.value : String(part.value) };
      }
    }
  } catch (err) {
    throw asRefusal(err, maxBytes);
  }
}

/** The parser's own errors (size, parts, files, a body cut short) as refusals. */
function asRefusal(err: unknown, maxBytes: number): unknown {
  if (err instanceof UploadRefused) return err;
  const code = (err as { code?: string }).code;
  if (code === 'FST_REQ_FILE_TOO_LARGE') return new UploadRefused(413, 'too_large', `the upload is larger than the limit of ${maxBytes} bytes; nothing was stored`);
  if (code === 'FST_FILES_LIMIT') return new UploadRefused(400, 'bad_field', 'one file per upload, in the field "file"');
  if (code === 'FST_PARTS_LIMIT' || code === 'FST_FIELDS_LIMIT') return new UploadRefused(400, 'bad_field', 'too many form fields: send the field "file" and at most a few options');
  return new UploadRefused(400, 'aborted', 'the upload ended before its end (connection closed or malformed multipart body); nothing was stored');
}

/** Logs a refusal (the cause of a 5xx goes to the log only) and says whether the client may still read an answer. */
export function logRefusal(ctx: WebContext, req: FastifyRequest, err: UploadRefused, userspace: string): void {
  const meta = { domain: userspace, login: req.principal?.login, status: err.status, code: err.code, detail: err.detail };
  if (err.status >= 500) ctx.logger.error('web upload failed', { ...meta, error: err.message });
  else ctx.logger.info('web upload refused', { ...meta, reason: err.message });
}

/** A refused upload's socket may still be sending: close it after the answer instead of reading on. */
export function closeAfter(reply: FastifyReply, err: UploadRefused): void {
  if (err.status === 413 || err.code === 'aborted') reply.header('Connection', 'close');
}
