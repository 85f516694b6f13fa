package actor_test

import (
	"errors"
	"fmt"

	actor "github.com/go-apify/actor"
)

func ExampleParsePayloadTemplate() {
	tmpl, err := actor.ParsePayloadTemplate(`{"runId": {{resource.id}}, "message": "Run {{resource.id}} {{resource.status}}"}`,
		actor.TemplateOptions{InterpolateStrings: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	body, err := tmpl.Render(map[string]any{
		"resource": map[string]any{"id": "HG7ML7M8z78YcAPEB", "status": "SUCCEEDED"},
	})
	fmt.Println(string(body), err)
	// Output: {"runId": "HG7ML7M8z78YcAPEB", "message": "Run HG7ML7M8z78YcAPEB SUCCEEDED"} <nil>
}

func ExampleParsePayloadTemplate_error() {
	_, err := actor.ParsePayloadTemplate("{\n  \"run\": {{reosurce}}\n}", actor.TemplateOptions{})
	fmt.Println(err)
	fmt.Println(errors.Is(err, actor.ErrInvalidVariable))
	// Output:
	// payload template: unknown variable "reosurce" at 2:10; allowed: userId, createdAt, eventType, eventData, resource, globals
	// true
}

func ExampleRenderPayloadTemplate() {
	body, err := actor.RenderPayloadTemplate(actor.DefaultPayloadTemplate, map[string]any{
		"userId":    "wRsJZtadYvn4mBZmm",
		"createdAt": "2024-05-01T12:00:00.000Z",
		"eventType": "ACTOR.RUN.SUCCEEDED",
		"eventData": map[string]any{"actorId": "vKs9zfyvbBG4eaAXy", "actorRunId": "HG7ML7M8z78YcAPEB"},
	}, actor.TemplateOptions{})
	fmt.Println(string(body), err)
	// Output:
	// {
	//     "userId": "wRsJZtadYvn4mBZmm",
	//     "createdAt": "2024-05-01T12:00:00.000Z",
	//     "eventType": "ACTOR.RUN.SUCCEEDED",
	//     "eventData": {"actorId":"vKs9zfyvbBG4eaAXy","actorRunId":"HG7ML7M8z78YcAPEB"},
	//     "resource": null
	// } <nil>
}

func ExamplePayloadTemplate_RenderHeaders() {
	tmpl, err := actor.ParseHeadersTemplate(`{"X-Run-Id": {{resource.id}}, "X-Note": "status {{resource.status}}", "X-None": {{resource.missing}}}`,
		actor.TemplateOptions{InterpolateStrings: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	headers, err := tmpl.RenderHeaders(map[string]any{"resource": map[string]any{"id": "HG7ML7M8z78YcAPEB", "status": "FAILED"}})
	fmt.Println(headers["X-Run-Id"], headers["X-Note"], len(headers), err)
	// Output: HG7ML7M8z78YcAPEB status FAILED 2 <nil>
}
