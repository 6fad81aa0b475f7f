import type { ParamReader } from '../protocol/ParamReader.js';
import { MediaElement } from './MediaElement.js';
import type { MediaPipeline } from './MediaPipeline.js';
import type { RuntimeContext } from './RuntimeContext.js';

export class RecorderEndpoint extends MediaElement {
  constructor(id: string, pipeline: MediaPipeline, context: RuntimeContext, _params: ParamReader) {
    super(id, 'RecorderEndpoint', pipeline, context);
  }
}
