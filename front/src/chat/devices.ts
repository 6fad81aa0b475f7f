/** The cameras and microphones of this browser, for the presenter's device picker. */
import { t } from '../i18n/index.js';
import { CAMERA_CONSTRAINTS } from '../webrtc/camera.js';

export interface DeviceChoice {
  cameraId: string | null;
  microphoneId: string | null;
}

export interface DeviceOption {
  id: string;
  label: string;
}

export async function listDevices(): Promise<{ cameras: DeviceOption[]; microphones: DeviceOption[] }> {
  const all = (await navigator.mediaDevices?.enumerateDevices?.()) ?? [];
  const of = (kind: MediaDeviceKind, key: string) =>
    all
      .filter((d) => d.kind === kind && d.deviceId !== '')
      .map((d, i) => ({ id: d.deviceId, label: d.label || t(key, { n: i + 1 }) }));
  return { cameras: of('videoinput', 'media.cameraNumber'), microphones: of('audioinput', 'media.microphoneNumber') };
}

/** The camera constraints with these devices (the default ones when null). */
export function constraintsFor(choice: DeviceChoice): MediaStreamConstraints {
  const audio = CAMERA_CONSTRAINTS.audio as MediaTrackConstraints;
  const video = CAMERA_CONSTRAINTS.video as MediaTrackConstraints;
  return {
    audio: choice.microphoneId ? { ...audio, deviceId: { exact: choice.microphoneId } } : audio,
    video: choice.cameraId ? { ...video, deviceId: { exact: choice.cameraId } } : video,
  };
}

/** The device a stream's track of this kind comes from, or null. */
export function deviceOf(stream: MediaStream | null, kind: 'audio' | 'video'): string | null {
  const track = kind === 'audio' ? stream?.getAudioTracks()[0] : stream?.getVideoTracks()[0];
  return track?.getSettings().deviceId ?? null;
}
