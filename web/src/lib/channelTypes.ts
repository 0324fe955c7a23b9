// The channel types relay speaks to (relay/providers/registry.py), with what their form needs.
export interface ChannelType {
  id: number;
  name: string;
  baseUrl: string; // the vendor's default; "" = the form must get one
  keyHint: string;
}

export const CHANNEL_TYPES: ChannelType[] = [
  { id: 1, name: "OpenAI", baseUrl: "https://api.openai.com", keyHint: "sk-…" },
  { id: 4, name: "Ollama", baseUrl: "http://localhost:11434", keyHint: "any text when the server has no key" },
  { id: 8, name: "Custom", baseUrl: "", keyHint: "the upstream's API key" },
  { id: 14, name: "Anthropic", baseUrl: "https://api.anthropic.com", keyHint: "sk-ant-…" },
  { id: 20, name: "OpenRouter", baseUrl: "https://openrouter.ai/api", keyHint: "sk-or-…" },
  { id: 25, name: "Moonshot", baseUrl: "https://api.moonshot.cn", keyHint: "sk-…" },
  { id: 40, name: "SiliconFlow", baseUrl: "https://api.siliconflow.cn", keyHint: "sk-…" },
  { id: 42, name: "Mistral", baseUrl: "https://api.mistral.ai", keyHint: "the Mistral API key" },
  { id: 43, name: "DeepSeek", baseUrl: "https://api.deepseek.com", keyHint: "sk-…" },
  { id: 48, name: "xAI", baseUrl: "https://api.x.ai", keyHint: "xai-…" },
];

export function typeName(id: number): string {
  return CHANNEL_TYPES.find((t) => t.id === id)?.name ?? `#${id}`;
}

export const CHANNEL_STATUS: Record<number, string> = {
  1: "Enabled",
  2: "Disabled",
  3: "Auto-disabled",
};
