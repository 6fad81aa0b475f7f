// Stands in for kurento-utils' optional `kurento-browser-extensions` (screen sharing), which onair does not use.
export default {};
