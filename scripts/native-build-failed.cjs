// Runs when `node-gyp rebuild` fails during install: the package still installs and runs on the js backend.
console.warn('attnkit: the native addon did not build (see the node-gyp output above); attnkit will run on the js backend.');
