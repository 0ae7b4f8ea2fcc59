// What the page keeps in IndexedDB: the last epoch's checkpoint, so a reload can continue a run
// where it was, and one record per finished run, for the comparison table.
const DB = 'kindling', CHECKPOINTS = 'checkpoints', RUNS = 'runs', KEY = 'last';

function open() {
  return new Promise((resolve, reject) => {
    // Version 2 added the runs; a version-1 database keeps its checkpoint.
    const request = indexedDB.open(DB, 2);
    request.onupgradeneeded = () => {
      const db = request.result;
      if (!db.objectStoreNames.contains(CHECKPOINTS)) db.createObjectStore(CHECKPOINTS);
      if (!db.objectStoreNames.contains(RUNS)) db.createObjectStore(RUNS, { autoIncrement: true });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function transact(store, mode, action) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(store, mode);
      const request = action(tx.objectStore(store));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

/** {bytes, epoch, epochs, settings, accuracy, savedAt} */
export const saveCheckpoint = (checkpoint) => transact(CHECKPOINTS, 'readwrite', (s) => s.put(checkpoint, KEY));
export const loadCheckpoint = () => transact(CHECKPOINTS, 'readonly', (s) => s.get(KEY));
export const clearCheckpoint = () => transact(CHECKPOINTS, 'readwrite', (s) => s.delete(KEY));

/** {record (the CLI's run record), curve: {steps, loss, epochSteps, accuracy}} */
export const addRun = (run) => transact(RUNS, 'readwrite', (s) => s.add(run));
export const listRuns = () => transact(RUNS, 'readonly', (s) => s.getAll());
export const clearRuns = () => transact(RUNS, 'readwrite', (s) => s.clear());
