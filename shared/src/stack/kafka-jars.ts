import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { LiteshiftError } from '../errors.js';
import type { Logger } from '../log.js';
import { defaultCacheDir, KAFKA_VERSION, kafkaHome } from './paths.js';
import { INSTALL_HINT, requireOnPath, runTool, tailLines } from './process.js';

export interface EnsureKafkaJarsOptions {
  cacheDir?: string;
  log: Logger;
}

const LOG4J_VERSION = '2.25.4';
/** kafka_2.13 itself depends on SLF4J 1.7.36, so the backend must be the 1.x binding. */
const SLF4J_VERSION = '1.7.36';
const MIN_JAVA_MAJOR = 17;
const MARKER = '.complete.json';

/**
 * `libsDir` is a Maven property rather than a literal path so the pom (and its hash in
 * the marker) does not change with the temporary directory each download writes into.
 */
const POM = `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 https://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.liteshift</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>${KAFKA_VERSION}</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>${KAFKA_VERSION}</version>
    </dependency>
    <dependency>
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-api</artifactId>
      <version>${SLF4J_VERSION}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>${LOG4J_VERSION}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-core</artifactId>
      <version>${LOG4J_VERSION}</version>
    </dependency>
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-dependency-plugin</artifactId>
        <version>3.8.1</version>
        <executions>
          <execution>
            <id>copy-runtime-jars</id>
            <phase>package</phase>
            <goals><goal>copy-dependencies</goal></goals>
            <configuration>
              <includeScope>runtime</includeScope>
              <outputDirectory>\${libsDir}</outputDirectory>
            </configuration>
          </execution>
        </executions>
      </plugin>
    </plugins>
  </build>
</project>
`;

const POM_HASH = createHash('sha256').update(POM).digest('hex');

interface Marker {
  version: string;
  pomHash: string;
  jars: number;
}

/**
 * Returns a folder holding every jar the broker needs. The first call downloads them
 * with Maven (minutes at worst); later calls only read a marker file.
 */
export async function ensureKafkaJars(opts: EnsureKafkaJarsOptions): Promise<string> {
  const home = kafkaHome(resolve(opts.cacheDir ?? defaultCacheDir()));
  const libs = join(home, 'libs');
  if (await isComplete(home)) return libs;

  await requireOnPath(['mvn', 'java']);
  await requireJava();
  await mkdir(home, { recursive: true });
  opts.log.info({ dir: libs }, `downloading Kafka ${KAFKA_VERSION} jars from Maven Central (once)…`);
  const started = Date.now();

  await writeFile(join(home, 'pom.xml'), POM);
  // Maven writes into a private folder that is renamed into place only when complete, so
  // an interrupted download never leaves a half-filled libs folder that looks usable.
  const partial = join(home, `libs.partial-${process.pid}`);
  await rm(partial, { recursive: true, force: true });
  try {
    const { code, output } = await runTool('mvn', ['-B', '-q', `-DlibsDir=${partial}`, 'package'], { cwd: home });
    if (code !== 0) {
      throw new LiteshiftError('STACK_FAILED', `Maven could not download the Kafka ${KAFKA_VERSION} jars (exit ${code})`, {
        hint: `check network access to Maven Central, then retry; the pom is ${join(home, 'pom.xml')}`,
        cause: new Error(tailLines(output, 20)),
      });
    }
    const jars = (await readdir(partial)).filter((name) => name.endsWith('.jar')).length;
    // Another process may have finished the same download while Maven ran here.
    if (await isComplete(home)) return libs;
    await rm(libs, { recursive: true, force: true });
    await rename(partial, libs);
    const marker: Marker = { version: KAFKA_VERSION, pomHash: POM_HASH, jars };
    await writeFile(join(home, MARKER), JSON.stringify(marker, null, 2));
    opts.log.info({ dir: libs, jars, ms: Date.now() - started }, `Kafka ${KAFKA_VERSION} jars ready`);
    return libs;
  } finally {
    await rm(partial, { recursive: true, force: true });
  }
}

async function isComplete(home: string): Promise<boolean> {
  try {
    const marker = JSON.parse(await readFile(join(home, MARKER), 'utf8')) as Partial<Marker>;
    return marker.version === KAFKA_VERSION && marker.pomHash === POM_HASH;
  } catch {
    return false;
  }
}

/**
 * Checked before the download because Maven's own message for a missing JVM
 * ("JAVA_HOME is not defined correctly") does not say what to install, and a Java older
 * than 17 would only fail later, when the broker loads its classes.
 */
export async function requireJava(): Promise<number> {
  const { code, output } = await runTool('java', ['-version']);
  const match = /version "(\d+)(?:\.(\d+))?/.exec(output);
  if (code !== 0 || !match) {
    throw new LiteshiftError('STACK_FAILED', '`java -version` failed; the local Kafka stack needs Java 17 or newer', {
      hint: INSTALL_HINT,
      cause: new Error(tailLines(output, 20)),
    });
  }
  // Java 8 and older report themselves as "1.x".
  const major = match[1] === '1' ? Number(match[2]) : Number(match[1]);
  if (major < MIN_JAVA_MAJOR) {
    throw new LiteshiftError('STACK_FAILED', `Kafka ${KAFKA_VERSION} needs Java ${MIN_JAVA_MAJOR} or newer; found Java ${major}`, {
      hint: INSTALL_HINT,
    });
  }
  return major;
}
