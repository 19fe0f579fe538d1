// Coverage matrix: a NestJS 11 service (platform-express) with a controller on a parameterised
// route and a service doing the PostgreSQL (pg) query and the outbound call (global fetch);
// pino logs. Plain JavaScript, so the decorators are applied as functions.
'use strict';
require('reflect-metadata');
const { NestFactory } = require('@nestjs/core');
const { Module, Controller, Injectable, Inject, Get, Param, ParseIntPipe, NotFoundException } = require('@nestjs/common');
const { Pool } = require('pg');
const pino = require('pino');

const log = pino({ name: 'nest-app' });
const downstream = process.env.DOWNSTREAM_URL;

class UsersService {
  constructor() {
    this.pool = new Pool({ connectionString: process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test', max: 2 });
  }

  async onModuleInit() {
    await this.pool.query('CREATE TABLE IF NOT EXISTS matrix_nest_users (id integer PRIMARY KEY, name text NOT NULL)');
    await this.pool.query("INSERT INTO matrix_nest_users (id, name) SELECT g, 'user-' || g FROM generate_series(1, 100) g ON CONFLICT (id) DO NOTHING");
  }

  async onModuleDestroy() {
    await this.pool.end();
  }

  async findOne(id) {
    const { rows } = await this.pool.query('SELECT id, name FROM matrix_nest_users WHERE id = $1', [id]);
    if (rows.length === 0) throw new NotFoundException(`no user ${id}`);
    const response = await fetch(`${downstream}/profiles/${id}`, { signal: AbortSignal.timeout(5000) });
    return { ...rows[0], profile: await response.json() };
  }
}
Reflect.decorate([Injectable()], UsersService);

class UsersController {
  constructor(users) {
    this.users = users;
  }

  async getUser(id) {
    const user = await this.users.findOne(id);
    log.info({ userId: id }, 'user loaded');
    return user;
  }
}
Reflect.decorate([Controller('users')], UsersController);
Inject(UsersService)(UsersController, undefined, 0);
Param('id', ParseIntPipe)(UsersController.prototype, 'getUser', 0);
Reflect.decorate([Get(':id')], UsersController.prototype, 'getUser', Object.getOwnPropertyDescriptor(UsersController.prototype, 'getUser'));

class HealthController {
  health() {
    return 'ok';
  }
}
Reflect.decorate([Controller('healthz')], HealthController);
Reflect.decorate([Get()], HealthController.prototype, 'health', Object.getOwnPropertyDescriptor(HealthController.prototype, 'health'));

class AppModule {}
Reflect.decorate([Module({ controllers: [UsersController, HealthController], providers: [UsersService] })], AppModule);

async function main() {
  // Nest's own logger writes coloured text to stdout: this service logs through pino.
  const app = await NestFactory.create(AppModule, { logger: false });
  app.enableShutdownHooks();
  await app.listen(0, '127.0.0.1');
  process.stdout.write(`${JSON.stringify({ fixture: 'ready', port: app.getHttpServer().address().port })}\n`);
}

main().catch((error) => {
  log.error({ err: error }, 'start-up failed');
  process.exit(1);
});
