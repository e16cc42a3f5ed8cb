// The page is compiled into the binary as text: the dashboard needs nothing from outside the cluster.
import page from "./dashboard.html" with { type: "text" };

// Bun's types describe an HTML import as a bundle; with type "text" it is the file's text.
if (typeof page !== "string") throw new Error("dashboard.html was not imported as text");

export const DASHBOARD_PAGE: string = page;
