// Renders the API's OpenAPI document with Swagger UI; both come from the API that serves this page.
const root = document.getElementById("swagger-ui");
window.ui = SwaggerUIBundle({
  url: root.dataset.document,
  domNode: root,
  layout: "BaseLayout",
  presets: [SwaggerUIBundle.presets.apis],
  deepLinking: true,
  docExpansion: "list",
  validatorUrl: null, // no badge from validator.swagger.io: the page loads nothing from elsewhere
});
