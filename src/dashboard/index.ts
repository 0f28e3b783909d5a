// Public entry `tasklane/dashboard`: the dashboard, mountable in your own Hono app. A subpath of its own
// because its pages are JSX: importing `tasklane` alone (a worker thread loading task modules, too) never
// loads them.
export { type DashboardOptions, type DashboardPort, dashboardRoutes } from './dashboard-routes.ts'
