import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ChannelForm } from "./ChannelForm";

function reply(data: unknown) {
  return Promise.resolve(new Response(JSON.stringify({ success: true, message: "", data })));
}

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

function fill(name: string, value: string) {
  const el = document.querySelector(`[name=${name}]`) as HTMLInputElement;
  fireEvent.change(el, { target: { value } });
}

describe("ChannelForm", () => {
  it("flags bad JSON at once and refuses to save it", async () => {
    const fetch = vi.fn();
    vi.stubGlobal("fetch", fetch);
    render(<ChannelForm channel={null} onSaved={() => undefined} onCancel={() => undefined} />);
    fill("name", "c1");
    fill("key", "sk-1");
    fireEvent.change(screen.getByLabelText("Add models"), { target: { value: "m-1" } });
    fireEvent.click(screen.getByRole("button", { name: "Add" }));
    fill("model_mapping", '{"a": 1');
    expect(screen.getByText("Not valid JSON")).toBeTruthy();
    fill("model_mapping", '{"a": 1}');
    expect(screen.getByText("Every value must be a string")).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "Create channel" }));
    expect(await screen.findByText("Model mapping: Every value must be a string")).toBeTruthy();
    expect(fetch).not.toHaveBeenCalled();
  });

  it("needs a base URL for the Custom type only", () => {
    render(<ChannelForm channel={null} onSaved={() => undefined} onCancel={() => undefined} />);
    expect(screen.getByText("Base URL")).toBeTruthy();
    fill("type", "8");
    expect(screen.getByText("Base URL (required)")).toBeTruthy();
  });

  it("fills the model picker from the upstream and sends the channel", async () => {
    const fetch = vi.fn((url: string, _init: RequestInit) =>
      url === "/api/channel/fetch_models" ? reply(["m-1", "m-2"]) : reply([7]),
    );
    vi.stubGlobal("fetch", fetch);
    const onSaved = vi.fn();
    render(<ChannelForm channel={null} onSaved={onSaved} onCancel={() => undefined} />);
    fill("name", "c1");
    fill("base_url", "http://up.example");
    fill("key", "sk-1");
    fill("priority", "3");
    fill("model_mapping", '{"gpt": "m-2"}');
    fireEvent.click(screen.getByRole("button", { name: "Fetch from upstream" }));
    fireEvent.click(await screen.findByRole("checkbox", { name: "m-2" }));
    fireEvent.click(screen.getByRole("button", { name: "Create channel" }));
    await waitFor(() => expect(onSaved).toHaveBeenCalled());
    const [, create] = fetch.mock.calls.find(([url]) => url === "/api/channel/")!;
    const body = JSON.parse(String(create.body));
    expect(body.mode).toBe("single");
    expect(body.channel).toMatchObject({
      name: "c1",
      key: "sk-1",
      base_url: "http://up.example",
      models: "m-2",
      priority: 3,
      model_mapping: '{"gpt": "m-2"}',
    });
    const [, probe] = fetch.mock.calls.find(([url]) => url === "/api/channel/fetch_models")!;
    expect(JSON.parse(String(probe.body))).toEqual({ base_url: "http://up.example", type: 1, key: "sk-1" });
  });

  it("keeps the key when editing with an empty one, and shows the API's error", async () => {
    const fetch = vi.fn(() =>
      Promise.resolve(new Response(JSON.stringify({ success: false, message: "weight too big" }))),
    );
    vi.stubGlobal("fetch", fetch);
    const channel = { id: 4, type: 1, name: "old", status: 1, models: "a,b", group: "default" };
    render(<ChannelForm channel={channel} onSaved={() => undefined} onCancel={() => undefined} />);
    fireEvent.click(screen.getByRole("button", { name: "Save channel" }));
    expect(await screen.findByText("weight too big")).toBeTruthy();
    const [, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    const body = JSON.parse(String(init.body));
    expect(init.method).toBe("PUT");
    expect(body).toMatchObject({ id: 4, models: "a,b" });
    expect(body).not.toHaveProperty("key");
  });
});
