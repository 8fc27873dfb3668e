// Types for bottleneck's light build (the one @octokit/plugin-throttling uses), which ships none of its own.
declare module 'bottleneck/light.js' {
  import Bottleneck from 'bottleneck';
  export default Bottleneck;
}
