// The IMAGE value between nodes: a batch of RGB images as NCHW float32 in [0, 1] (models consume NCHW).
export interface ImageValue {
  /** [batch, 3, height, width], values in [0, 1]. */
  data: Float32Array;
  batch: number;
  channels: 3;
  height: number;
  width: number;
}

export function imageValue(data: Float32Array, batch: number, height: number, width: number): ImageValue {
  if (data.length !== batch * 3 * height * width) {
    throw new Error(`imageValue: ${data.length} values do not fill [${batch}, 3, ${height}, ${width}]`);
  }
  return { data, batch, channels: 3, height, width };
}
