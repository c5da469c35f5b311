// Page configuration rendered by the server (`ui_config` in frontend/views.py).
const node = document.getElementById("ui-config");
export const config = node ? JSON.parse(node.textContent) : { api: "/api/v1/", timezone: "UTC" };
