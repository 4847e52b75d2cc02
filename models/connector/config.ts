// XConnector ("resampler") configurations (spec §1.3): dense 1024→2048, 64 latent queries, one 32-head
// cross-attention. Small: matches the small vision tower and MLLM widths; keeps 64 latents so the prompt format
// (<image>×65 </image>) is the same at every size.

export interface ConnectorConfig {
  visionDim: number;
  dim: number;
  heads: number;
  latentQueries: number;
}

export const CONNECTOR_REAL: ConnectorConfig = { visionDim: 1024, dim: 2048, heads: 32, latentQueries: 64 };

export const CONNECTOR_SMALL: ConnectorConfig = { visionDim: 64, dim: 64, heads: 4, latentQueries: 64 };
